"""Page weight and time to first byte of every page type, in real Chromium (Debian's package via
Playwright) against a real uvicorn server on loopback, with the web tests' data set (30 days of
Hugging Face daily papers, .abs fixtures, 300 listing papers) and a signed-in admin for the
member pages. Writes the "page-weight" section of BENCHMARKS.md.

    python bench/bench_pages_weight.py [--loads 5]

Weight: bytes on the wire (Chromium's CDP `Network.loadingFinished` encodedDataLength: headers
and bodies) for a cold load with the cache disabled, the document and all it pulls in (CSS, JS,
icon). TTFB: Navigation Timing `responseStart - requestStart` (the server's time to answer plus
loopback), median and max of --loads warm loads after one discarded load.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for extra in ("src", "bench", "tests"):
    sys.path.insert(0, str(ROOT / extra))

from bench_votes import serve  # noqa: E402
from report import write_section  # noqa: E402

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def measure(page, cdp, url: str, loads: int) -> dict:
    sizes: dict[str, int] = {}
    kinds: dict[str, str] = {}
    cdp.on("Network.responseReceived", lambda e: kinds.__setitem__(e["requestId"], e["type"]))
    cdp.on("Network.loadingFinished", lambda e: sizes.__setitem__(e["requestId"], int(e["encodedDataLength"])))
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    response = page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")
    status = response.status
    total, requests = sum(sizes.values()), len(sizes)
    document = sum(size for rid, size in sizes.items() if kinds.get(rid) == "Document")
    ttfb = []
    for n in range(loads + 1):
        page.goto(url, wait_until="load")
        timing = page.evaluate("() => { const t = performance.getEntriesByType('navigation')[0];"
                               " return t.responseStart - t.requestStart; }")
        if n:
            ttfb.append(timing)
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})
    return {"status": status, "total": total, "document": document, "requests": requests,
            "ttfb_median": statistics.median(ttfb), "ttfb_max": max(ttfb)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loads", type=int, default=5)
    args = parser.parse_args(argv)

    import shutil

    import conftest
    import httpx
    from playwright.sync_api import sync_playwright
    from support.community import PASSWORD, make_app, member
    from test_accessibility import ADMIN, LATEST, PAGES

    from dailypapers.community import collections

    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("Debian's chromium is needed (apt-get install chromium)")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = conftest.build_data_dir(Path(tmp) / "data")
        app, store = make_app(data)
        admin = member(store, ADMIN, "admin")
        with serve(app) as base, sync_playwright() as p:
            day = httpx.get(f"{base}/papers/date/{LATEST}", timeout=120).text
            paper = re.search(r'href="/papers/(\d{4}\.\d{4,5})"', day).group(1)
            page_html = httpx.get(f"{base}/papers/{paper}", timeout=120).text
            author = re.search(r'href="(/authors/[^"]+)"', page_html).group(1)
            cid = collections.create(store, admin, "Reading list", "", is_public=True)
            collections.add_paper(store, admin, cid, paper)
            values = {"paper": paper, "author": author, "collection": str(cid)}
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            for signed_in in (False, True):
                context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 900})
                page = context.new_page()
                if signed_in:
                    page.goto("/signin")
                    page.fill("input[name=email]", f"{ADMIN}@example.org")
                    page.fill("input[name=password]", PASSWORD)
                    page.click("form.stack button[type=submit]")
                    page.wait_for_url("**/")
                for name, path, needs_member, _ in PAGES:
                    if needs_member != signed_in:
                        continue
                    page = context.new_page()
                    cdp = context.new_cdp_session(page)
                    cdp.send("Network.enable")
                    url = path.format(**values)
                    rows.append((name, url, measure(page, cdp, url, args.loads)))
                    cdp.detach()
                    page.close()
                context.close()
            browser.close()
        store.close()

    lines = ["| page | path | status | requests | document bytes | total bytes | TTFB median (ms) | TTFB max (ms) |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for name, url, m in rows:
        shown = url if len(url) <= 40 else url[:37] + "…"
        lines.append(f"| {name} | `{shown}` | {m['status']} | {m['requests']} | {m['document']:,} | {m['total']:,} | "
                     f"{m['ttfb_median']:.1f} | {m['ttfb_max']:.1f} |")
    body = ("## Page weight and time to first byte\n\n"
            "Every page type in Chromium against uvicorn on loopback (one worker, SQLite, the web tests' data: 30 days "
            "of HF daily papers plus fixtures). Bytes are on the wire (headers and bodies, uncompressed: the app "
            "sends no Content-Encoding) for a cold load of the page and everything it pulls in; TTFB is "
            f"`responseStart - requestStart` over {args.loads} warm loads. `-signed-in` rows and the member pages "
            "are loaded as a signed-in admin. The same ~30 KB of CSS, JS and icon ride on every cold load (cached "
            "for an hour after). Load average when it ran: "
            f"{os.getloadavg()[0]:.1f} (a shared machine: read TTFB as an upper bound).\n\n" + "\n".join(lines))
    write_section("page-weight", body, "python bench/bench_pages_weight.py" + (
        f" --loads {args.loads}" if args.loads != 5 else ""))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
