"""Full text (issue 15 item 7): the fulltext job fetches each paper's PDF from a real local HTTP
server through the real fetching code, extracts its text with PDFium (a PDF made here with
text in it), stores it, and every failure (404, 5xx, not a PDF, a corrupt or oversized PDF) ends
in a recorded status; retries are bounded. The paper is then served as Markdown with its text."""

from __future__ import annotations

import ctypes
import datetime as dt
import io

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
from sources_helpers import FakeClock, ReplayServer, Reply

from dailypapers.errors import PdfUnavailable
from dailypapers.ingest.fulltext import extract, job, render
from dailypapers.ingest.fulltext.fetch import PdfFetcher, cache_path, pdf_url
from dailypapers.ingest.fulltext.paragraphs import paragraphs
from dailypapers.models import Author, Paper, Record
from dailypapers.sources.http import RateLimiter
from dailypapers.store import Store

T = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.timezone.utc)
PAGE_ONE = [
    ("Sparse Zyzzyva Transformers", 18),
    ("We study the first paragraph of a test paper and it goes on for quite a", 11),
    ("while until it ends here.", 11),
    ("A second paragraph starts on a new line and carries the word quokka in a", 11),
    ("sentence that is hyphen-", 11),
    ("ated across two lines.", 11),
]


def make_pdf(pages: list[list[tuple[str, int]]]) -> bytes:
    """A PDF with real text objects (Helvetica), one line per (text, size), made by PDFium."""
    pdf = pdfium.PdfDocument.new()
    for lines in pages:
        page = pdf.new_page(612, 792)
        y = 720.0
        for text, size in lines:
            obj = pdfium_c.FPDFPageObj_NewTextObj(pdf.raw, b"Helvetica", ctypes.c_float(size))
            buf = ctypes.create_string_buffer((text + "\x00").encode("utf-16-le"))
            assert pdfium_c.FPDFText_SetText(obj, ctypes.cast(buf, ctypes.POINTER(pdfium_c.FPDF_WCHAR)))
            pdfium_c.FPDFPageObj_Transform(obj, 1, 0, 0, 1, 72, y)
            pdfium_c.FPDFPage_InsertObject(page.raw, obj)
            y -= size * 1.3
        assert pdfium_c.FPDFPage_GenerateContent(page.raw)
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


PDF = make_pdf([PAGE_ONE, [("Page two says wombat.", 11)]])


def paper(arxiv_id: str, day: int) -> Record:
    return Record(Paper(arxiv_id, f"Paper {arxiv_id}", "An abstract about sparse attention.",
                        [Author("Ada Lovelace")], version=1, primary_category="cs.CL", categories=["cs.CL"],
                        published=T - dt.timedelta(days=day)))


@pytest.fixture
def store(database_url):
    s = Store.open(database_url)
    s.write([paper("2611.00001", 1), paper("2611.00002", 2), paper("2611.00003", 3),
             paper("2611.00004", 4), paper("2611.00005", 5), paper("hep-th/9901001", 9000)])
    yield s
    s.close()


def fetcher_for(server: ReplayServer, tmp_path, max_bytes: int = 1_000_000) -> PdfFetcher:
    clock = FakeClock()
    return PdfFetcher(server.url + "/pdf", tmp_path / "pdf", max_bytes=max_bytes, delay=3.0,
                      limiter=RateLimiter(3.0, clock=clock, sleep=clock.sleep))


def test_extracts_text_in_paragraphs_from_a_pdf_made_here():
    pages = extract.extract(PDF)
    assert pages.page_count == 2
    assert "quokka" in pages.pages[0] and "wombat" in pages.pages[1]
    assert paragraphs(pages.pages) == [
        "Sparse Zyzzyva Transformers",
        "We study the first paragraph of a test paper and it goes on for quite a while until it ends here.",
        "A second paragraph starts on a new line and carries the word quokka in a sentence that is "
        "hyphenated across two lines.",
        "Page two says wombat.",
    ]


def test_renders_the_first_page_as_a_small_webp():
    from PIL import Image

    data = render.thumbnail(PDF)
    image = Image.open(io.BytesIO(data))
    assert image.format == "WEBP"
    assert image.size[0] == render.WIDTH and abs(image.size[1] - render.WIDTH * 792 / 612) <= 1
    assert len(data) < 40_000
    # the title line is dark ink on a white page: the rendering is not blank
    darkest, lightest = image.convert("L").getextrema()
    assert darkest < 100 and lightest == 255


@pytest.mark.parametrize("bad", [b"", b"%PDF-1.7\nnot really a pdf", PDF[: len(PDF) // 3], b"<html>hi</html>"])
def test_a_corrupt_pdf_is_a_typed_error(bad):
    with pytest.raises(PdfUnavailable) as caught:
        extract.extract(bad)
    assert caught.value.status == "corrupt"
    with pytest.raises(PdfUnavailable):
        render.thumbnail(bad)


def test_urls_and_cache_paths_come_from_valid_ids_only(tmp_path):
    assert pdf_url("https://arxiv.org/pdf/", "2611.00001v2") == "https://arxiv.org/pdf/2611.00001"
    assert pdf_url("https://arxiv.org/pdf", "hep-th/9901001") == "https://arxiv.org/pdf/hep-th/9901001"
    assert cache_path(tmp_path, "hep-th/9901001") == tmp_path / "hep-th-9901001.pdf"
    with pytest.raises(ValueError):
        cache_path(tmp_path, "../../etc/passwd")


def test_the_job_fetches_extracts_stores_and_records_every_failure(store, tmp_path):
    big = b"%PDF-1.7\n" + b"0" * 5000
    replies = {
        "/pdf/2611.00001": Reply(200, PDF, content_type="application/pdf"),
        "/pdf/2611.00002": Reply(404, b"not found", content_type="text/plain"),
        "/pdf/2611.00003": Reply(200, b"<!doctype html><p>captcha</p>", content_type="text/html"),
        "/pdf/2611.00004": Reply(200, b"%PDF-1.4\n%broken beyond repair", content_type="application/pdf"),
        "/pdf/2611.00005": Reply(200, big, content_type="application/pdf"),
        "/pdf/hep-th/9901001": Reply(503, b"busy", content_type="text/plain"),
    }
    with ReplayServer(route=lambda path: replies[path]) as server:
        fetcher = fetcher_for(server, tmp_path, max_bytes=4000)
        report = job.run(store, fetcher, lambda: T)
        fetcher.close()
        assert sorted(server.requests) == sorted(replies)
        assert all(ua.startswith("dailypapers/") for ua in server.user_agents)
    assert dict(report.outcomes) == {"ok": 1, "missing": 1, "not_pdf": 1, "corrupt": 1, "too_large": 1,
                                     "unreachable": 1}
    assert "full text of 6 papers" in str(report)
    got = store.fulltext.get("2611.00001")
    assert got is not None and got.ok and got.pages == 2 and got.has_thumbnail
    assert "hyphenated across two lines." in (got.body or "") and "\n\nPage two says wombat." in (got.body or "")
    for pid, status, words in [("2611.00002", "missing", "404"), ("2611.00003", "not_pdf", "text/html"),
                               ("2611.00004", "corrupt", "cannot be read"), ("2611.00005", "too_large", "4,000"),
                               ("hep-th/9901001", "unreachable", "503")]:
        row = store.fulltext.get(pid)
        assert row is not None and row.status == status and words in (row.detail or ""), (pid, row)
        assert row.body is None and not row.has_thumbnail
    assert store.fulltext.texts(["2611.00001", "2611.00002"]).keys() == {"2611.00001"}
    assert store.fulltext.with_thumbnails(["2611.00001", "2611.00004"]) == {"2611.00001"}
    assert (tmp_path / "pdf" / "2611.00001.pdf").read_bytes() == PDF  # cached: only PDFs are kept
    assert sorted(p.name for p in (tmp_path / "pdf").iterdir()) == ["2611.00001.pdf"]


def test_unreachable_is_retried_a_bounded_number_of_times_then_failed(store, tmp_path):
    calls: list[str] = []

    def route(path):
        calls.append(path)
        return Reply(502, b"bad gateway", content_type="text/plain")

    with ReplayServer(route=route) as server:
        fetcher = fetcher_for(server, tmp_path)
        now = T
        statuses = []
        for _ in range(job.MAX_ATTEMPTS + 2):
            job.process(store, fetcher, "2611.00001", now)
            row = store.fulltext.get("2611.00001")
            assert row is not None
            statuses.append(row.status)
            if row.status != "unreachable":
                break
            assert "2611.00001" not in store.fulltext.pending(now, 10)  # not due yet
            now += job.RETRY_BASE * 4 ** job.MAX_ATTEMPTS  # past any retry time
            assert "2611.00001" in store.fulltext.pending(now, 10)
        fetcher.close()
    assert statuses == ["unreachable"] * (job.MAX_ATTEMPTS - 1) + ["failed"]
    assert len(calls) == job.MAX_ATTEMPTS
    row = store.fulltext.get("2611.00001")
    assert row is not None and row.attempts == job.MAX_ATTEMPTS and "gave up after 3 attempts" in (row.detail or "")
    assert "2611.00001" not in store.fulltext.pending(now + dt.timedelta(days=365), 10)


def test_a_resumed_run_takes_only_what_is_left_and_the_cache_saves_a_fetch(store, tmp_path):
    with ReplayServer(route=lambda path: Reply(200, PDF, content_type="application/pdf")) as server:
        fetcher = fetcher_for(server, tmp_path)
        stops = iter([False, False, True])
        first = job.run(store, fetcher, lambda: T, should_stop=lambda: next(stops))
        assert first.outcomes == {"ok": 2}
        assert len(server.requests) == 2
        second = job.run(store, fetcher, lambda: T)
        assert second.outcomes == {"ok": 4}
        assert len(server.requests) == 6 and len(set(server.requests)) == 6  # nothing fetched twice
        assert str(job.run(store, fetcher, lambda: T)) == "no papers waiting for full text"
        # the PDF cache: a paper processed again (its row gone) is read from disk, not fetched
        requests = len(server.requests)
        assert fetcher.get("2611.00001") == PDF and len(server.requests) == requests
        fetcher.close()
    assert store.fulltext.counts() == {"ok": 6}


def test_requests_are_spaced_politely(store, tmp_path):
    clock = FakeClock()
    with ReplayServer(route=lambda path: Reply(200, PDF, content_type="application/pdf")) as server:
        fetcher = PdfFetcher(server.url + "/pdf", tmp_path / "pdf", max_bytes=10**6, delay=3.0,
                             limiter=RateLimiter(3.0, clock=clock, sleep=clock.sleep))
        job.run(store, fetcher, lambda: T, limit=3)
        fetcher.close()
    assert clock.sleeps == [3.0, 3.0]  # no wait before the first, 3 s before each next (virtual clock)


def test_the_worker_runs_the_fulltext_job_from_its_settings(fresh_data_dir):
    from support.databases import data_dir_settings

    from dailypapers.worker.loop import Worker

    with ReplayServer(route=lambda path: Reply(200, PDF, content_type="application/pdf")) as server:
        settings = data_dir_settings(fresh_data_dir, pdf_url=server.url + "/pdf", pdf_delay=0.0,
                                     worker_jobs=("fulltext",))
        store = Store.open(settings.resolved_database_url)
        store.write([paper("2611.00001", 1), paper("2611.00002", 2)])
        events: list[str] = []
        assert Worker(store, settings, clock=lambda: T, on_event=events.append).run(once=True) == 1
        assert sorted(server.requests) == ["/pdf/2611.00001", "/pdf/2611.00002"]
    assert events == ["job fulltext: ok: full text of 2 papers: 2 ok"]
    assert store.fulltext.counts() == {"ok": 2}
    assert sorted(p.name for p in (fresh_data_dir / "pdf").iterdir()) == ["2611.00001.pdf", "2611.00002.pdf"]
    store.close()


def test_an_odd_page_size_cannot_ask_for_a_huge_thumbnail():
    from PIL import Image

    pdf = pdfium.PdfDocument.new()
    pdf.new_page(2, 14_000)  # 2 pt wide, 14,000 pt tall: 320 px wide would be 2.2 million px tall
    out = io.BytesIO()
    pdf.save(out)
    image = Image.open(io.BytesIO(render.thumbnail(out.getvalue())))
    assert image.size[1] <= 2 * render.WIDTH
