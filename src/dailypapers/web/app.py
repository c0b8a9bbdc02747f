"""The application factory: one FastAPI app serving pages, the JSON API and static files."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.trustedhost import TrustedHostMiddleware

from dailypapers.web import background, caching, errors, limits, methods, params, sessions
from dailypapers.web.render.templating import STATIC, make_env
from dailypapers.web.routes import (
    api,
    api_community,
    auth,
    collections,
    community,
    feeds,
    foryou,
    insights,
    moderation,
    outbox_admin,
    pages,
    searches,
    subscriptions,
    thumbnails,
)

from .. import __version__ as VERSION
from .. import config, redact
from ..community.ratelimit import DatabaseCounter, Limits
from ..config import Settings
from ..errors import ConfigError
from ..store import Store
from .render_cache import RenderCache
from .security import SecurityHeaders, trusted_hosts

if TYPE_CHECKING:
    from ..search.keyword import KeywordIndex

DESCRIPTION = """\
The dailypapers JSON API. Paths, parameters and field names follow the Hugging Face papers API,
so `huggingface_hub`'s `HfApi(endpoint=...)` methods `list_daily_papers`, `paper_info`,
`list_papers` and `read_paper` work against this server unchanged. Errors are JSON objects
`{"error": "...", "status": N}`.
"""


def create_app(settings: Settings | None = None, store: Store | None = None,
               index: KeywordIndex | None = None) -> FastAPI:
    """Build the app. The store defaults to `settings.resolved_database_url`, the keyword index to
    `settings.index_dir / "keyword"` (opened on first search once it has been built)."""
    settings = settings or config.load()
    settings.check_production()  # refuses the default secret in production
    redact.quiet(settings)  # secrets and email addresses masked in every log line
    app = FastAPI(title="dailypapers", version=VERSION, description=DESCRIPTION,
                  docs_url=None, redoc_url=None, openapi_url="/openapi.json",
                  # rate limits on search, the API and forms; then no control characters in any text
                  dependencies=[Depends(limits.throttle), Depends(params.text_input)])
    app.state.settings = settings
    app.state.store = store or Store.open(settings.resolved_database_url)
    app.state.index = index
    app.state.index_path = settings.index_dir / "keyword"
    app.state.jinja = make_env()
    if settings.rate_limit_store not in ("database", "memory"):
        raise ConfigError("DAILYPAPERS_RATE_LIMIT_STORE must be `database` or `memory`")
    counter = (DatabaseCounter(app.state.store, settings.secret_key)
               if settings.rate_limit_store == "database" else None)
    app.state.limits = Limits(settings=settings, counter=counter)
    errors.install(app)
    # ETag / 304 and the render cache for anonymous readers; inside the session
    megabytes = settings.render_cache_mb
    app.state.render_cache = RenderCache(megabytes * 1_048_576) if megabytes > 0 else None
    app.add_middleware(caching.ConditionalGet, cache=app.state.render_cache)
    sessions.install(app, settings)
    # outermost last: headers on every response, then errors contained, then sizes checked
    app.add_middleware(limits.SizeLimits, settings=settings)
    app.add_middleware(methods.ApiCors)  # preflight OPTIONS for /api GETs
    hosts = trusted_hosts(settings)
    if hosts is not None:  # requests for another host name get 400 (links never come from Host anyway)
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=hosts)
    app.add_middleware(errors.ContainErrors)
    caching.compress(app)  # gzip above 1 KB; inside SecurityHeaders, so a 304 has its headers too
    app.add_middleware(SecurityHeaders, hsts=settings.public_url.startswith("https://"),
                       remote_images=settings.remote_images)
    app.add_middleware(methods.HeadAsGet)  # HEAD on every GET route
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # community routers first: their /papers/{id}/… and /api/papers/{id}/… paths would otherwise
    # be taken by the catch-all paper routes
    for router in (api_community.router, auth.router, community.router, collections.router, moderation.router,
                   insights.router):
        app.include_router(router)
    # delivery (issue 5): subscriptions, saved searches, /for-you, feeds, the outbox admin page
    for router in (subscriptions.router, searches.router, foryou.router, feeds.router, outbox_admin.router,
                   thumbnails.router):
        app.include_router(router)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.router.on_startup.append(lambda: background.start(app))
    app.router.on_shutdown.append(lambda: background.stop(app))
    return app
