"""`dailypapers user …`: create members (admins, moderators), list them, change roles, make API tokens.

Registered in cli/commands.py with `app.add_typer(user_app, name="user")`. The password of `user create`
comes from DAILYPAPERS_ADMIN_PASSWORD when set (for scripts), else from a hidden prompt.
"""

from __future__ import annotations

import os
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from dailypapers.cli.errors import fail, load_settings
from dailypapers.community import accounts
from dailypapers.errors import DailyPapersError
from dailypapers.progress import console
from dailypapers.store import Store

user_app = typer.Typer(help="Manage members: create, list, set roles, API tokens.", no_args_is_help=True)
PASSWORD_ENV = "DAILYPAPERS_ADMIN_PASSWORD"


def _store() -> Store:
    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Store.open(settings.resolved_database_url)


@user_app.command("create")
def create(
    email: Annotated[str, typer.Argument(help="The member's email address (they sign in with it).")],
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    username: Annotated[Optional[str], typer.Option(help="User name; default: made from the address.")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="Make the member an administrator.")] = False,
    moderator: Annotated[bool, typer.Option("--moderator", help="Make the member a moderator.")] = False,
) -> None:
    """Create a member. Password: $DAILYPAPERS_ADMIN_PASSWORD, or asked for (hidden, twice)."""
    password = os.environ.get(PASSWORD_ENV) or typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    role = "admin" if admin else "moderator" if moderator else "member"
    store = _store()
    try:
        user = accounts.create_user(store, email, password, username=username, display_name=name, role=role)
    except DailyPapersError as exc:
        fail(str(exc))
    finally:
        store.close()
    console.print(f"created {user.role} {user.username} <{user.email}>", highlight=False, markup=False)


@user_app.command("list")
def list_users() -> None:
    """List every member with their role."""
    store = _store()
    users, total = store.accounts.list_users(limit=100_000)
    store.close()
    table = Table(title=f"{total} member(s)")
    for col in ("id", "user name", "email", "role", "joined"):
        table.add_column(col)
    for u in users:
        table.add_row(str(u.id), u.username, u.email, u.role, u.created_at.strftime("%Y-%m-%d"))
    Console().print(table)  # the listing is the output: stdout


@user_app.command("role")
def role(
    email: Annotated[str, typer.Argument(help="The member's email address.")],
    new_role: Annotated[str, typer.Argument(metavar="ROLE", help="member, moderator or admin.")],
) -> None:
    """Change a member's role."""
    store = _store()
    try:
        user = accounts.set_role(store, email, new_role)
    except DailyPapersError as exc:
        fail(str(exc))
    finally:
        store.close()
    console.print(f"{user.username} is now {user.role}", highlight=False, markup=False)


@user_app.command("token")
def token(
    email: Annotated[str, typer.Argument(help="The member's email address.")],
    name: Annotated[str, typer.Option(help="What the token is for.")] = "cli",
) -> None:
    """Make a personal API token for a member and print it (it is shown only once)."""
    store = _store()
    try:
        user = store.accounts.by_email(accounts.normalize_email(email))
        if user is None:
            fail(f"no member with address {email}")
        print(accounts.create_token(store, user, name))
    except DailyPapersError as exc:
        fail(str(exc))
    finally:
        store.close()
