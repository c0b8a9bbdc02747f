"""dailypapers: a self-hostable research-paper hub."""

__version__ = "0.1.0"
