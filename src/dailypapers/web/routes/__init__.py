"""Route handlers, one module per area of the site. Each handler reads the request, calls the library
and renders; rules about what is allowed live in the library, not here.

Database ids in paths are written `{name:id}` (web/params.py registers that convertor, imported here
so that it exists before any route is declared)."""

from dailypapers.web import params as _params  # noqa: F401  (registers the `id` path convertor)
