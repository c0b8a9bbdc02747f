"""Text out of a PDF with pypdfium2 (PDFium, the PDF engine of Chromium), page by page."""

from __future__ import annotations

from dataclasses import dataclass

import pypdfium2 as pdfium

from dailypapers.errors import PdfUnavailable

MAX_PAGES = 300  # pages read from one PDF; a longer one keeps its first MAX_PAGES
MAX_CHARS = 2_000_000  # characters kept from one PDF
_SOFT_HYPHEN = "\ufffe"  # PDFium's mark for a word hyphenated at the end of a line: the word is joined


@dataclass(frozen=True)
class Extracted:
    pages: list[str]  # each page's text, lines separated by "\n"
    page_count: int  # pages in the PDF, read or not

    @property
    def text(self) -> str:
        return "\n\f\n".join(self.pages)


def open_pdf(data: bytes) -> pdfium.PdfDocument:
    """The document, or PdfUnavailable("corrupt") when PDFium cannot read it."""
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise PdfUnavailable("corrupt", f"the PDF cannot be read: {exc}") from exc
    if len(pdf) == 0:
        pdf.close()
        raise PdfUnavailable("corrupt", "the PDF has no pages")
    return pdf


def extract(data: bytes, *, max_pages: int = MAX_PAGES, max_chars: int = MAX_CHARS) -> Extracted:
    pdf = open_pdf(data)
    try:
        pages: list[str] = []
        used = 0
        for number in range(min(len(pdf), max_pages)):
            text = _page_text(pdf, number)[: max_chars - used]
            pages.append(text)
            used += len(text)
            if used >= max_chars:
                break
        return Extracted(pages, len(pdf))
    except pdfium.PdfiumError as exc:
        raise PdfUnavailable("corrupt", f"a page of the PDF cannot be read: {exc}") from exc
    finally:
        pdf.close()


def _page_text(pdf: pdfium.PdfDocument, number: int) -> str:
    page = pdf[number]
    try:
        textpage = page.get_textpage()
        try:
            raw = textpage.get_text_range()
        finally:
            textpage.close()
    finally:
        page.close()
    text = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return text.replace(_SOFT_HYPHEN + "\n", "").replace(_SOFT_HYPHEN, "")
