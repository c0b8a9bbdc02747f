"""Fetching a paper's PDF: one polite GET through the shared client (sources/http.py), a size
limit enforced while the body streams in, and a file cache so that a PDF is fetched once.

Each outcome that is not a PDF is a PdfUnavailable whose `status` the worker records:
missing (404, 410), not_pdf (an HTML page, a wrong type), too_large (over `max_bytes`) are
final; unreachable (a transport failure, 429 or a 5xx) is retried a bounded number of times.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from dailypapers import ids
from dailypapers.errors import PdfUnavailable
from dailypapers.sources.http import USER_AGENT, RateLimiter, make_client

PDF_MAGIC = b"%PDF-"
CHUNK = 64 * 1024


def pdf_url(base_url: str, arxiv_id: str) -> str:
    """`<base>/<id>` as arxiv.org/pdf serves it (the latest version); old-style ids keep their slash."""
    return f"{base_url.rstrip('/')}/{ids.normalize(arxiv_id)}"


def cache_path(cache_dir: Path, arxiv_id: str) -> Path:
    """Where the PDF of `arxiv_id` is cached: the id validated, its slash made a dash."""
    return Path(cache_dir) / (ids.normalize(arxiv_id).replace("/", "-") + ".pdf")


class PdfFetcher:
    """Fetches PDFs from `base_url`, at most one request per `delay` seconds, caching each in `cache_dir`."""

    def __init__(self, base_url: str, cache_dir: Path, *, max_bytes: int, delay: float,
                 client: httpx.Client | None = None, limiter: RateLimiter | None = None) -> None:
        self.base_url, self.cache_dir, self.max_bytes = base_url, Path(cache_dir), max_bytes
        self.client = client or make_client()
        self.limiter = limiter or RateLimiter(delay)

    def close(self) -> None:
        self.client.close()

    def get(self, arxiv_id: str) -> bytes:
        """The PDF of `arxiv_id`: from the cache, else fetched (and cached when it is a PDF)."""
        path = cache_path(self.cache_dir, arxiv_id)
        if path.is_file():
            data = path.read_bytes()
            if data.startswith(PDF_MAGIC) and len(data) <= self.max_bytes:
                return data
        self.limiter.wait()
        data = self._download(pdf_url(self.base_url, arxiv_id))
        self._store(path, data)
        return data

    def forget(self, arxiv_id: str) -> None:
        """Drop a cached PDF that turned out unreadable (it is not kept, nor served again)."""
        cache_path(self.cache_dir, arxiv_id).unlink(missing_ok=True)

    def _download(self, url: str) -> bytes:
        try:
            with self.client.stream("GET", url, headers={"User-Agent": USER_AGENT}) as response:
                _check_status(response, url)
                declared = response.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > self.max_bytes:
                    raise _too_large(url, self.max_bytes)
                body = bytearray()
                for chunk in response.iter_bytes(CHUNK):
                    body += chunk
                    if len(body) > self.max_bytes:
                        raise _too_large(url, self.max_bytes)
        except httpx.HTTPError as exc:
            raise PdfUnavailable("unreachable", f"GET {url} failed: {exc.__class__.__name__}: {exc}") from exc
        if not bytes(body[:1024]).lstrip().startswith(PDF_MAGIC):
            kind = response.headers.get("Content-Type", "no content type")
            raise PdfUnavailable("not_pdf", f"{url} did not answer with a PDF ({kind}, {len(body):,} bytes)")
        return bytes(body)

    def _store(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(path.name + ".part")
        part.write_bytes(data)
        os.replace(part, path)  # a reader never sees half a file


def _check_status(response: httpx.Response, url: str) -> None:
    code = response.status_code
    if code == 200:
        return
    if code in (404, 410):
        raise PdfUnavailable("missing", f"{url} answered HTTP {code}: arXiv has no PDF for it")
    if code == 429 or code >= 500:
        raise PdfUnavailable("unreachable", f"{url} answered HTTP {code}; will try again later")
    raise PdfUnavailable("not_pdf", f"{url} answered HTTP {code} {response.reason_phrase}")


def _too_large(url: str, limit: int) -> PdfUnavailable:
    return PdfUnavailable("too_large", f"{url}: the PDF is larger than the limit of {limit:,} bytes "
                                       "(DAILYPAPERS_PDF_MAX_BYTES)")
