"""End-to-end SQLite import against the raw floor, measured in the same run.

The floor is what no importer can beat on this machine: ijson's C backend
building every message of the same export, plus bare batched inserts of the
same minimal rows (conversation_id, id, sender, time, type, content) into an
indexed table in WAL mode. The import does all the real work on top.

    python benchmarks/import_sqlite.py --messages 300000
    python benchmarks/import_sqlite.py --export path/to/export.tar

Each measurement runs in a fresh process so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("floor", "parallel", "single")


def floor(export: str, db: str, batch_size: int) -> dict[str, float]:
    import ijson

    from skype_etl_gui.etl.extractor import Extractor

    start = time.perf_counter()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE m (conversation_id TEXT, id TEXT, sender_id TEXT, sent_at TEXT, message_type TEXT, "
        "content TEXT, PRIMARY KEY (conversation_id, id))"
    )
    conn.execute("CREATE INDEX m_time ON m (conversation_id, sent_at)")
    extractor = Extractor(export)
    stream, closing = extractor._open_stream()
    rows: list[tuple[object, ...]] = []
    count = 0
    sql = "INSERT OR REPLACE INTO m VALUES (?, ?, ?, ?, ?, ?)"
    for msg in ijson.items(stream, "conversations.item.MessageList.item", use_float=True):
        rows.append(
            (
                msg.get("conversationid"),
                msg.get("id"),
                msg.get("from"),
                msg.get("originalarrivaltime"),
                msg.get("messagetype"),
                msg.get("content"),
            )
        )
        if len(rows) >= batch_size:
            conn.execute("BEGIN")
            conn.executemany(sql, rows)
            conn.execute("COMMIT")
            count += len(rows)
            rows = []
    conn.execute("BEGIN")
    conn.executemany(sql, rows)
    conn.execute("COMMIT")
    count += len(rows)
    for obj in closing:
        obj.close()
    conn.close()
    return {"seconds": time.perf_counter() - start, "messages": count}


def ours(export: str, db: str, batch_size: int, parallel: bool) -> dict[str, float]:
    from skype_etl_gui.etl import ETLPipeline

    start = time.perf_counter()
    summary = ETLPipeline(f"sqlite:///{db}", batch_size=batch_size, parallel=parallel).run(export)
    assert summary["status"] == "completed", summary
    return {
        "seconds": time.perf_counter() - start,
        "messages": summary["messages"],
        "phases": {k: round(v["duration_s"], 2) for k, v in summary["telemetry"]["phases"].items()},
    }


def measure(kind: str, export: str, batch_size: int) -> dict[str, object]:
    """Run one measurement in a child process; returns its figures and peak RSS."""
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "bench.db")
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                kind,
                "--export",
                export,
                "--db",
                db,
                "--batch-size",
                str(batch_size),
            ],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        ).stdout
    return json.loads(out.strip().splitlines()[-1])


def child(kind: str, export: str, db: str, batch_size: int) -> None:
    if kind == "floor":
        result = floor(export, db, batch_size)
    else:
        result = ours(export, db, batch_size, parallel=kind == "parallel")
    # the importing process plus its worker (each one's own peak: an upper bound of the sum)
    result["peak_rss_mb"] = (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    ) / 1024
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=300_000, help="size of the sample export to make")
    parser.add_argument("--export", help="an existing export instead of a sample")
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=1, help="take the best of this many runs of each")
    parser.add_argument("--child", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.child:
        child(args.child, args.export, args.db, args.batch_size)
        return
    with tempfile.TemporaryDirectory() as tmp:
        export = args.export
        if not export:
            from skype_etl_gui.sample import write_sample

            export = os.path.join(tmp, "sample.tar")
            print(f"writing a sample export of {args.messages:,} messages ...", flush=True)
            write_sample(export, messages=args.messages, seed=7)
        runs = {kind: [measure(kind, export, args.batch_size) for _ in range(args.repeat)] for kind in KINDS}
    best = {kind: min(results, key=lambda r: r["seconds"]) for kind, results in runs.items()}
    f = best["floor"]
    print(
        f"export: {os.path.basename(export)}, {best['parallel']['messages']:,} messages stored, best of {args.repeat}"
    )
    print(
        f"floor          : {f['seconds']:6.2f} s {f['messages'] / f['seconds']:>9,.0f} msg/s  "
        f"peak RSS {f['peak_rss_mb']:.0f} MB"
    )
    for kind, label in (("parallel", "import, worker "), ("single", "import, 1 proc.")):
        o = best[kind]
        print(
            f"{label}: {o['seconds']:6.2f} s {o['messages'] / o['seconds']:>9,.0f} msg/s  peak RSS "
            f"{o['peak_rss_mb']:.0f} MB  ratio {o['seconds'] / f['seconds']:.2f}x the floor"
        )
    print("target: the default import (worker process) at most 2.0x the floor, peak RSS under 200 MB")


if __name__ == "__main__":
    main()
