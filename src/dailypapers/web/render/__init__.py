"""Presentation: turning library objects into what templates, feeds, Markdown and BibTeX need.
Nothing here handles a request."""
