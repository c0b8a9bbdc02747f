"""Search: the query language, the keyword (tantivy) index, and later vectors and fusion."""

from dailypapers.search.keyword import Hit, KeywordIndex, SearchPage
from dailypapers.search.query import ParsedQuery, parse_query

__all__ = ["Hit", "KeywordIndex", "ParsedQuery", "SearchPage", "parse_query"]
