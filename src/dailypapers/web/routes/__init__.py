"""Route handlers, one module per area of the site. Each handler reads the request, calls the library
and renders; rules about what is allowed live in the library, not here."""
