"""A route that fails on purpose: a test app gains /test-boom and /api/test-boom, which raise an
exception whose message carries whatever the test wants kept out of pages and logs."""

from __future__ import annotations


def add_failing_routes(app, message: str) -> None:
    def boom() -> None:
        raise RuntimeError(message)

    for path in ("/test-boom", "/api/test-boom"):
        app.add_api_route(path, boom, methods=["GET"], include_in_schema=False)
        app.router.routes.insert(0, app.router.routes.pop())  # before any catch-all route
