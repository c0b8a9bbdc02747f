"""Paragraphs out of the lines PDFium gives: a line that ends a sentence well short of the
page's usual line length ends its paragraph, as do a blank line and a heading (a much shorter
line before a capital); a word hyphenated across
two lines is joined again. Lines that are only a number (page numbers) are dropped."""

from __future__ import annotations

import re

_SENTENCE_END = (".", "?", "!", ":")
_SHORT = 0.8  # a line shorter than this share of the page's usual line ends a paragraph (after a sentence)
_HEADING = 0.6  # a line shorter than this, followed by a capital, is a heading
_PAGE_NUMBER = re.compile(r"\d{1,4}")
_HYPHENATED = re.compile(r"[A-Za-z]-$")


def paragraphs(pages: list[str]) -> list[str]:
    out: list[str] = []
    for page in pages:
        out += _page_paragraphs(page)
    return out


def _page_paragraphs(page: str) -> list[str]:
    lines = [" ".join(line.split()) for line in page.split("\n")]
    usual = _usual_length(lines)
    paras: list[str] = []
    current = ""
    previous = ""
    for line in lines:
        if _PAGE_NUMBER.fullmatch(line):
            continue
        if not line or _ends_paragraph(previous, line, usual):
            if current:
                paras.append(current)
            current = ""
        if line:
            current = _join(current, line)
        previous = line
    if current:
        paras.append(current)
    return paras


def _ends_paragraph(previous: str, line: str, usual: float) -> bool:
    """After a short line that ends a sentence, or a very short one (a heading) before a capital."""
    if previous.endswith(_SENTENCE_END) and len(previous) < _SHORT * usual:
        return True
    return bool(previous) and len(previous) < _HEADING * usual and line[:1].isupper()


def _usual_length(lines: list[str]) -> float:
    lengths = sorted(len(line) for line in lines if line)
    return float(lengths[int(len(lengths) * 0.8)]) if lengths else 0.0


def _join(text: str, line: str) -> str:
    if not text:
        return line
    if _HYPHENATED.search(text) and line[:1].islower():
        return text[:-1] + line
    return f"{text} {line}"
