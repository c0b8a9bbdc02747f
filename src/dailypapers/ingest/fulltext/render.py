"""The thumbnail: the first page of a PDF rendered by PDFium and saved as a small WebP by Pillow."""

from __future__ import annotations

import io

import pypdfium2 as pdfium

from dailypapers.errors import PdfUnavailable
from dailypapers.ingest.fulltext.extract import open_pdf

WIDTH = 320  # pixels: a card shows it at about 160 CSS px wide, so sharp on a 2x screen
QUALITY = 70
MAX_ASPECT = 2.0  # height / width at most: an odd page size cannot ask for a huge bitmap
MEDIA_TYPE = "image/webp"


def thumbnail(data: bytes, width: int = WIDTH) -> bytes:
    """The first page of the PDF `data`, `width` pixels wide, as WebP bytes."""
    pdf = open_pdf(data)
    try:
        page = pdf[0]
        try:
            page_width, page_height = page.get_size()
            # `width` pixels wide, and never more than MAX_ASPECT times as tall (a strip of a page)
            scale = min(width / max(page_width, 1.0), MAX_ASPECT * width / max(page_height, 1.0))
            bitmap = page.render(scale=scale)
            image = bitmap.to_pil().convert("RGB")
        finally:
            page.close()
    except pdfium.PdfiumError as exc:
        raise PdfUnavailable("corrupt", f"the first page cannot be rendered: {exc}") from exc
    finally:
        pdf.close()
    out = io.BytesIO()
    image.save(out, "WEBP", quality=QUALITY, method=4)
    return out.getvalue()
