"""Ingestion: reading source files and feeds into the store (the importer, parser processes, the
re-import digests of applied lines, the OAI-PMH harvest loop and the demo loader)."""
