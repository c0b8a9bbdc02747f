"""The one format registry (sources/formats.py) the importer, its parser processes, the command
line and the fuzzers read."""

from __future__ import annotations

import pytest

from dailypapers.sources import formats


def test_every_format_names_a_parser_and_line_formats_a_line_parser():
    assert list(formats.FORMATS) == ["hf", "snapshot", "listings", "atom", "oai", "abs"]
    for fmt in formats.FORMATS.values():
        assert callable(fmt.parse) and fmt.module_name == f"dailypapers.sources.{fmt.name}" and fmt.help
        assert callable(getattr(fmt.module, "paper", None)) or not fmt.one_paper_a_line
        assert fmt.streams or not fmt.one_paper_a_line
    assert [f.name for f in formats.FORMATS.values() if f.one_paper_a_line] == ["snapshot", "listings"]


def test_an_unknown_format_names_the_known_ones():
    with pytest.raises(formats.UnknownFormat, match="choose one of: hf, snapshot"):
        formats.get("pdf")
