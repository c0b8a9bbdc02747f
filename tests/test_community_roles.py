"""The role rule, in community/accounts.py (the admin page and `dailypapers user role` both apply
it): known roles only, admins only, and an admin cannot drop their own admin role."""

from __future__ import annotations

import pytest
from support.community import member

from dailypapers.community import accounts
from dailypapers.errors import InvalidInput, NotFound, PermissionDenied
from dailypapers.store import Store


@pytest.fixture
def store(database_url):
    store = Store.open(database_url)
    yield store
    store.close()


def test_an_admin_changes_a_members_role_within_the_rules(store):
    root, bob = member(store, "ada", role="admin"), member(store, "bob")
    assert accounts.change_role(store, root, bob.id, "moderator").role == "moderator"
    with pytest.raises(InvalidInput, match="roles are"):
        accounts.change_role(store, root, bob.id, "owner")
    with pytest.raises(PermissionDenied, match="own admin role"):
        accounts.change_role(store, root, root.id, "member")
    with pytest.raises(PermissionDenied):
        accounts.change_role(store, store.accounts.get(bob.id), bob.id, "admin")
    with pytest.raises(NotFound):
        accounts.change_role(store, root, bob.id + 1000, "member")
    assert store.accounts.get(root.id).role == "admin" and store.accounts.get(bob.id).role == "moderator"
