"""Import speed of one snapshot file into a fresh database, twice (the second time changes nothing),
then a third time from a copy with every 100th line changed (a retitled version: "update", what a
weekly snapshot looks like).

    python bench/bench_import_speed.py URL FILE            # this checkout
    SRC=/path/to/other/checkout/src python bench/bench_import_speed.py URL FILE   # another version
    python bench/bench_import_speed.py URL FILE --first-only   # the first import alone

Prints wall seconds, CPU seconds (this process and its parser processes; on PostgreSQL also the
server processes serving this database, read from /proc: the server runs on the same cores) and
records per second of each; used for the before/after figures of the bulk import in BENCHMARKS.md.
CPU seconds matter on a shared machine, where wall time depends on what else runs.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, os.environ.get("SRC", str(Path(__file__).resolve().parents[1] / "src")))


def cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def server_ticks(store) -> dict[int, int]:
    """CPU clock ticks so far of each PostgreSQL process serving this database (empty on SQLite)."""
    if store.is_sqlite:
        return {}
    with store.engine.connect() as conn:
        pids = conn.exec_driver_sql("SELECT pid FROM pg_stat_activity WHERE datname = current_database()").scalars()
        ticks = {}
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            ticks[pid] = int(fields[11]) + int(fields[12])  # utime, stime
        return ticks


def server_cpu(before: dict[int, int], after: dict[int, int]) -> float:
    return sum(t - before.get(pid, 0) for pid, t in after.items()) / os.sysconf("SC_CLK_TCK")


def changed_copy(path: Path, every: int = 100) -> Path:
    """FILE.update: the same lines, every `every`-th one retitled in a higher version."""
    import json

    out = path.with_name(path.name + ".update")
    with open(path, "rb") as src, open(out, "wb") as dst:
        for n, line in enumerate(src):
            if n % every == 0 and line.strip():
                record = json.loads(line)
                record["title"] = record["title"] + " (revised)"
                record["versions"] = record.get("versions", []) + [
                    {"version": f"v{len(record.get('versions', [])) + 1}", "created": "Mon, 2 Nov 2026 10:00:00 GMT"}]
                line = json.dumps(record).encode() + b"\n"
            dst.write(line)
    return out


def main() -> None:
    from dailypapers.ingest import importer
    from dailypapers.store import Store

    url, path = sys.argv[1], Path(sys.argv[2])  # --first-only: the first import alone
    print("code:", importer.__file__, flush=True)
    store = Store.open(url)
    updated = changed_copy(path)
    runs = (("first", path), ("again", path), ("update", updated))
    for label, source in runs[:1] if "--first-only" in sys.argv else runs:
        ticks, wall, used = server_ticks(store), time.perf_counter(), cpu()
        r = importer.import_paths(store, "snapshot", [source])
        wall, used = time.perf_counter() - wall, cpu() - used
        server = server_cpu(ticks, server_ticks(store))
        w = r.written
        print(f"{label}: {r.records} records wall {wall:.1f}s {r.records / wall:.0f}/s cpu {used:.1f}s "
              f"{r.records / used:.0f}/cpu-s {used / max(r.records, 1) * 1e6:.0f} cpu-us/line "
              f"server-cpu {server:.1f}s ins={w.inserted} upd={w.updated} unch={w.unchanged} "
              f"err={r.error_count}", flush=True)
    print("maxrss MB self", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
          "children", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)


if __name__ == "__main__":
    main()
