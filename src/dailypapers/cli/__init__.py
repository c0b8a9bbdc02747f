"""The command line: `dailypapers …` (main), `dailypapers digest|worker …` (delivery), `dailypapers user …` (users).

Commands only parse arguments, call the library and turn its typed errors into messages and exit codes.
"""

from dailypapers.cli.commands import app, main

__all__ = ["app", "main"]
