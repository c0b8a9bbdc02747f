"""The `dailypapers` command. Thin: it calls the library and turns its errors into messages."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from dailypapers import config
from dailypapers.cli.delivery import digest_app, worker
from dailypapers.cli.errors import fail, load_settings
from dailypapers.cli.users import user_app
from dailypapers.errors import DailyPapersError
from dailypapers.ingest import demo as demo_loader
from dailypapers.ingest import importer
from dailypapers.ingest.files import total_bytes
from dailypapers.progress import console, count_progress, import_progress
from dailypapers.sources.formats import FORMATS
from dailypapers.store import Store

app = typer.Typer(help="dailypapers: a self-hosted research-paper hub.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
index_app = typer.Typer(help="Manage the search indexes.", no_args_is_help=True)
app.add_typer(index_app, name="index")
app.add_typer(user_app, name="user")
app.add_typer(digest_app, name="digest")
app.command()(worker)

def _store(settings: config.Settings) -> Store:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Store.open(settings.resolved_database_url)


def _keyword_index(settings: config.Settings):
    from dailypapers.search.keyword import KeywordIndex

    return KeywordIndex(settings.index_dir / "keyword")


def _sync_index(store: Store, settings: config.Settings) -> int:
    from dailypapers.search.sync import sync_keyword_index

    index = _keyword_index(settings)
    pending = store.max_seq() - index.last_seq
    with count_progress("indexing", None if pending <= 0 else pending) as advance:
        return sync_keyword_index(store, index, progress=advance)


@app.command()
def init() -> None:
    """Create the data directory, the database schema and an empty search index."""
    settings = load_settings()
    store = _store(settings)
    _keyword_index(settings)
    console.print(f"database ready: {settings.resolved_database_url}")
    console.print(f"index directory: {settings.index_dir}")
    store.close()


@app.command("import")
def import_(
    format: Annotated[str, typer.Argument(help="One of: " + ", ".join(FORMATS))],
    paths: Annotated[list[Path], typer.Argument(help="Files or directories (.gz is read transparently).")],
    batch_size: Annotated[int, typer.Option(help="Records per transaction.")] = 1000,
    index: Annotated[bool, typer.Option(help="Update the search index afterwards.")] = True,
) -> None:
    """Import papers from files. Idempotent: importing the same data twice changes nothing."""
    settings = load_settings()
    if format not in FORMATS:
        fail(f"unknown format {format!r}; choose one of: {', '.join(FORMATS)}", 2)
    store = _store(settings)
    with import_progress(f"import {format}", total_bytes(paths)) as bar:
        report = importer.import_paths(store, format, paths, batch_size=batch_size,
                                       on_read=bar.bytes_read, on_records=bar.records_written)
    _print_import_report(report)
    if index:
        _sync_index(store, settings)
    store.close()
    if not report.ok:
        raise typer.Exit(1)


def _print_import_report(report: importer.ImportReport) -> None:
    for err in report.errors[:20]:
        console.print(f"[yellow]skipped[/yellow] {err}", highlight=False, markup=False)
    if report.error_count > 20:
        console.print(f"… and {report.error_count - 20} more errors")
    w = report.written
    console.print(
        f"{report.files} file(s), {report.records:,} records: {w.inserted:,} new, {w.updated:,} updated, "
        f"{w.unchanged:,} unchanged papers; {w.entries_written:,} daily entries written; "
        f"{report.error_count:,} error(s)", highlight=False)
    if report.skipped_seen:
        console.print(f"{report.skipped_seen:,} lines were applied by an earlier import and not read again",
                      highlight=False)


@app.command()
def harvest(
    from_: Annotated[Optional[str], typer.Option("--from", help="First datestamp, YYYY-MM-DD.")] = None,
    until: Annotated[Optional[str], typer.Option(help="Last datestamp, YYYY-MM-DD.")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="OAI set(s); default from settings.")] = None,
    url: Annotated[Optional[str], typer.Option(help="OAI-PMH endpoint; default from settings.")] = None,
) -> None:
    """Harvest new papers from arXiv's OAI-PMH endpoint, resuming from the last checkpoint."""
    from dailypapers.ingest.harvest import Endpoint, harvest_sets

    settings = load_settings()
    store = _store(settings)
    try:
        start = dt.date.fromisoformat(from_) if from_ else None
        end = dt.date.fromisoformat(until) if until else None
    except ValueError as exc:
        fail(f"bad date: {exc}", 2)
    endpoint = Endpoint(url or settings.oai_url, settings.harvest_delay)
    failed = False
    for result in harvest_sets(store, endpoint, set_ or list(settings.harvest_categories), from_=start, until=end,
                               progress=import_progress):
        if result.error is not None:
            console.print(f"[red]error:[/red] harvest of {result.oai_set} stopped: {result.error}; rerun to resume",
                          highlight=False)
        else:
            _print_import_report(result.report)
        failed = failed or not result.ok
    _sync_index(store, settings)
    store.close()
    if failed:
        raise typer.Exit(1)


@index_app.command("rebuild")
def index_rebuild() -> None:
    """Rebuild the keyword index from the database, swapping it in when complete."""
    from dailypapers.search.sync import rebuild_keyword_index

    settings = load_settings()
    store = _store(settings)
    total = store.counts()["papers"]
    with count_progress("rebuilding index", total) as advance:
        count = rebuild_keyword_index(store, _keyword_index(settings), progress=advance)
    console.print(f"indexed {count:,} papers")
    store.close()


@index_app.command("vectors")
def index_vectors() -> None:
    """Rebuild the vector (HNSW) index from the vectors stored in the database."""
    settings = load_settings()
    store = _store(settings)
    count = _rebuild_vectors(store, settings)
    console.print(f"vector index holds {count:,} papers")
    store.close()


def _rebuild_vectors(store: Store, settings: config.Settings) -> int:
    from dailypapers.search.encoder.embeddings import DIM, MODEL_ID
    from dailypapers.search.sync import rebuild_vector_index
    from dailypapers.store.vectors import vector_count

    total = vector_count(store, MODEL_ID)
    if total == 0:
        return 0
    with count_progress("building vector index", total) as advance:
        return rebuild_vector_index(store, settings.index_dir / "vectors", MODEL_ID, DIM, progress=advance)


@index_app.command("phrases")
def index_phrases(
    batch_size: Annotated[int, typer.Option(help="Papers per committed batch.")] = 256,
    limit: Annotated[Optional[int], typer.Option(help="Stop after about this many papers.")] = None,
) -> None:
    """Compute the key phrases of papers embedded without them (before they were stored with the
    vectors); resumable: a stopped run loses one batch at most, and the next carries on."""
    from dailypapers.search.encoder.embeddings import MODEL_ID, load_encoder
    from dailypapers.store.vectors import count_without_phrases
    from dailypapers.worker.embedding import fill_phrases

    settings = load_settings()
    store = _store(settings)
    pending = count_without_phrases(store, MODEL_ID)
    if pending == 0:
        console.print("every stored vector has its key phrases")
        store.close()
        return
    try:
        encoder = load_encoder(settings.data_dir / "models")
    except DailyPapersError as exc:
        fail(str(exc))
    with count_progress("key phrases", pending) as advance:
        report = fill_phrases(store, encoder, batch_size=batch_size, progress=advance, limit=limit)
    console.print(f"stored the key phrases of {report.stored:,} papers in {report.seconds:.0f} s; "
                  f"{report.remaining:,} vectors still without (stale ones: `dailypapers embed`)", highlight=False)
    store.close()


@index_app.command("sync")
def index_sync() -> None:
    """Index the papers changed since the last sync (imports do this already)."""
    settings = load_settings()
    store = _store(settings)
    console.print(f"indexed {_sync_index(store, settings):,} changed papers")
    store.close()


@app.command()
def embed(
    device: Annotated[str, typer.Option(help="cpu, or cuda for the GPU pipeline (needs torch with CUDA).")] = "cpu",
    batch_size: Annotated[int, typer.Option(help="Papers per committed batch.")] = 256,
    limit: Annotated[Optional[int], typer.Option(help="Stop after about this many papers.")] = None,
) -> None:
    """Embed papers that have no vector (or a stale one) for the current model; resumable."""
    from dailypapers.search.encoder.embeddings import load_encoder
    from dailypapers.worker.embedding import count_pending, embed_missing

    settings = load_settings()
    store = _store(settings)
    try:
        encoder = load_encoder(settings.data_dir / "models", device=device)
    except DailyPapersError as exc:
        fail(str(exc))
    pending = count_pending(store, encoder.model_id, encoder.dim)
    with count_progress(f"embedding ({encoder.name})", pending or None) as advance:
        seen = [0]

        def progress(done: int, _total: int) -> None:
            advance(done - seen[0])
            seen[0] = done

        report = embed_missing(store, encoder, batch_size=batch_size, progress=progress, limit=limit)
    console.print(f"embedded {report.embedded:,} papers in {report.seconds:.0f} s ({report.rate:.1f}/s); "
                  f"{report.total:,} vectors stored for {encoder.model_id}", highlight=False)
    _rebuild_vectors(store, settings)
    store.close()


@app.command("eval")
def eval_cmd(
    corpus: Annotated[Path, typer.Option(help="BEIR corpus.jsonl (_id, title, text).")],
    queries: Annotated[Path, typer.Option(help="BEIR queries.jsonl (_id, text).")],
    qrels: Annotated[Path, typer.Option(help="Qrels: BEIR TSV (query-id, corpus-id, score; header optional) "
                                              "or TREC (query-id iteration corpus-id score).")],
    mode: Annotated[str, typer.Option(help="hybrid, keyword, semantic or all.")] = "all",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of lines.")] = False,
) -> None:
    """Score search quality on a BEIR-format set: nDCG@10, MRR@10 and Recall@100 per mode.

    Prints one line per mode (`hybrid ndcg@10=0.5122 mrr@10=0.6760 recall@100=0.9991 queries=35`),
    or with --json {"corpus": ..., "modes": {mode: {"ndcg@10": ..., ...}}}."""
    import json
    import tempfile

    from dailypapers.search import evaluate

    modes = ["keyword", "semantic", "hybrid"] if mode == "all" else [mode]
    with tempfile.TemporaryDirectory(prefix="dailypapers-eval-") as workdir:
        try:
            table = evaluate.run(corpus, queries, qrels, modes, Path(workdir))
        except (DailyPapersError, ValueError, OSError) as exc:
            fail(str(exc), 2)
    if as_json:
        print(json.dumps({"corpus": str(corpus), "queries": str(queries), "qrels": str(qrels), "modes": table}))
    else:
        print("\n".join(evaluate.mode_lines(table)))


@app.command()
def serve(
    host: Annotated[Optional[str], typer.Option(help="Default: DAILYPAPERS_HOST.")] = None,
    port: Annotated[Optional[int], typer.Option(help="Default: DAILYPAPERS_PORT.")] = None,
    workers: Annotated[int, typer.Option(help="Web worker processes.")] = 1,
) -> None:
    """Serve the web pages and the JSON API."""
    import uvicorn

    settings = load_settings()
    try:  # a read-only or full data directory, an unsafe secret: one line, no traceback
        settings.check_production()
        settings.check_data_dir()
        store = _store(settings)
        _ensure_vectors(store, settings)
    except DailyPapersError as exc:
        fail(str(exc))
    store.close()
    host, port = host or settings.host, port or settings.port
    # the app (built in each worker from the environment) names this address in development mail links
    os.environ.update({config.env_name("host"): host, config.env_name("port"): str(port)})
    console.print(f"serving http://{host}:{port}")
    # uvicorn kills a worker that misses a 5 s health check; loading the encoder in the warm-up
    # thread can hold the GIL that long on a busy machine, so workers were killed at start-up
    uvicorn.run("dailypapers.web.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level="info", timeout_worker_healthcheck=30)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help='Words, "phrases", author:name, cat:cs.CL, from:/to:YYYY-MM-DD.')],
    limit: Annotated[int, typer.Option(help="Results to show.")] = 10,
    sort: Annotated[str, typer.Option(help="relevance or date.")] = "relevance",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
) -> None:
    """Search papers by keyword (BM25)."""
    from dailypapers.search.query import parse_query

    settings = load_settings()
    store = _store(settings)
    try:
        page = _keyword_index(settings).search(parse_query(query), limit=limit, sort=sort)
    except DailyPapersError as exc:
        fail(str(exc), 2)
    found = store.papers_by_ids([h.arxiv_id for h in page.hits])
    if as_json:
        for hit in page.hits:
            paper = found.get(hit.arxiv_id)
            print(json.dumps({"id": hit.arxiv_id, "score": round(hit.score, 4),
                              "title": paper.title if paper else None}))
        return
    table = Table(title=f"{page.total:,} result(s) for {query!r}" + (" (any word)" if page.relaxed else ""))
    for col in ("id", "score", "title"):
        table.add_column(col)
    for hit in page.hits:
        paper = found.get(hit.arxiv_id)
        table.add_row(hit.arxiv_id, f"{hit.score:.2f}", paper.title if paper else "?")
    console.print(table)


@app.command()
def stats() -> None:
    """Show what the database and index hold."""
    settings = load_settings()
    store = _store(settings)
    counts = store.counts()
    table = Table(title=settings.resolved_database_url)
    table.add_column("what")
    table.add_column("count", justify="right")
    for key, value in counts.items():
        table.add_row(key, f"{value:,}" if isinstance(value, int) else str(value))
    index = _keyword_index(settings)
    table.add_row("indexed papers", f"{index.doc_count():,}")
    table.add_row("index behind by (changes)", f"{max(store.max_seq() - index.last_seq, 0):,}")
    console.print(table)


@app.command("settings")
def showload_settings() -> None:
    """List every DAILYPAPERS_* setting with its default and current value."""
    current = load_settings()
    table = Table()
    for col in ("variable", "default", "current", "meaning"):
        table.add_column(col)
    for name, default, help_text in config.describe():
        value = getattr(current, name[len("DAILYPAPERS_"):].lower())
        value = ",".join(value) if isinstance(value, tuple) else str(value)
        table.add_row(name, default, "(set)" if "SECRET" in name and value != default else value, help_text)
    console.print(table)


@app.command("migrate")
def migrate_to(to: Annotated[str, typer.Option("--to", help="Target URL, e.g. postgresql://user@host/db.")]) -> None:
    """Copy this installation's database into another (e.g. SQLite into PostgreSQL) and check counts."""
    from dailypapers.store.transfer import copy_database

    settings = load_settings()
    table = Table(title=f"{settings.resolved_database_url} → {to}")
    for col in ("table", "source rows", "target rows", "same"):
        table.add_column(col)
    with count_progress("copying rows", None) as advance:
        try:
            counts = copy_database(settings.resolved_database_url, to, progress=lambda _t, n: advance(n))
        except DailyPapersError as exc:
            fail(str(exc))
    for c in counts:
        table.add_row(c.table, f"{c.source:,}", f"{c.target:,}", "yes" if c.ok else "NO")
    console.print(table)
    if not all(c.ok for c in counts):
        fail("row counts differ between source and target")
    console.print(f"done; set DAILYPAPERS_DATABASE_URL={to} and run `dailypapers index rebuild`", highlight=False)


@app.command("backup")
def backup_cmd(path: Annotated[Optional[Path], typer.Argument(help="Backup file (default: in DATA_DIR/backups).")]
               = None) -> None:
    """Back up the database while it runs (SQLite backup API, or pg_dump for PostgreSQL)."""
    from dailypapers.store.transfer import backup

    settings = load_settings()
    url = settings.resolved_database_url
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    suffix = "sqlite" if url.startswith("sqlite") else "dump"
    target = path or settings.data_dir / "backups" / f"dailypapers-{stamp}.{suffix}"
    try:
        backup(url, target)
    except DailyPapersError as exc:
        fail(str(exc))
    console.print(f"backup written to {target} ({target.stat().st_size:,} bytes)", highlight=False)


@app.command("restore")
def restore_cmd(
    path: Annotated[Path, typer.Argument(help="A file written by `dailypapers backup`.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Replace the database with a backup, then rebuild the search index from it."""
    from dailypapers.search.sync import rebuild_keyword_index
    from dailypapers.store.transfer import restore

    settings = load_settings()
    if not yes and not typer.confirm(f"Replace everything in {settings.resolved_database_url}?"):
        raise typer.Exit(1)
    try:
        restore(settings.resolved_database_url, path)
    except DailyPapersError as exc:
        fail(str(exc))
    store = _store(settings)
    count = rebuild_keyword_index(store, _keyword_index(settings))
    console.print(f"restored from {path}; index rebuilt with {count:,} papers", highlight=False)
    store.close()


@app.command()
def demo(path: Annotated[Path, typer.Option(help="Demo data directory.")] = demo_loader.DEMO_DIR) -> None:
    """Load the demo data set once (later runs skip it), create the demo member, update the index."""
    settings = load_settings()
    store = _store(settings)
    try:
        report = demo_loader.load(store, path, progress=import_progress)
    except DailyPapersError as exc:
        fail(str(exc))
    if report.already_loaded:
        console.print("demo data already loaded")
    for _file, imported in report.imports:
        _print_import_report(imported)
    if report.vectors is not None:
        console.print(f"demo vectors: {report.vectors.imported:,} loaded, "
                      f"{report.vectors.stale + report.vectors.unknown:,} skipped"
                      + (f", key phrases of {report.vectors.phrases_filled:,} stored"
                         if report.vectors.phrases_filled else ""))
    _ensure_vectors(store, settings)
    email, password = report.member
    console.print(f"demo member: sign in at /signin as {email} / {password}", highlight=False)
    _sync_index(store, settings)
    store.close()


def _ensure_vectors(store: Store, settings: config.Settings) -> None:
    """At start-up: a vector index that is missing, unreadable or built from another model's
    vectors is rebuilt from the stored vectors; one that is behind the database is synced."""
    from dailypapers.search.encoder.embeddings import DIM, MODEL_ID
    from dailypapers.search.sync import ensure_vector_index
    from dailypapers.store.vectors import vector_count

    total = vector_count(store, MODEL_ID)
    if total == 0:
        return
    with count_progress("checking the vector index", total) as advance:
        state = ensure_vector_index(store, settings.index_dir / "vectors", MODEL_ID, DIM, progress=advance)
    if state not in ("ok", "stale"):
        console.print(f"vector index was {state.replace('_', ' ')}: rebuilt from {total:,} stored vectors")


def main() -> None:
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    app()
