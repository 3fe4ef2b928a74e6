"""End-to-end SQLite import against the raw floor, measured in the same run.

The floor is what no importer can beat on this machine: ijson's C backend
building every message of the same export, plus bare batched inserts of the
same minimal rows (conversation_id, id, sender, time, type, content) into an
indexed table in WAL mode. The import does all the real work on top.

    python benchmarks/import_sqlite.py --messages 300000 --repeat 3
    python benchmarks/import_sqlite.py --export path/to/export.tar
"""

from __future__ import annotations

import os
import sqlite3
import sys
import tempfile
import time
from typing import Any

from harness import arguments, child_main, import_export, line, make_sample, measure_all


def floor(export: str, db: str, batch_size: int) -> dict[str, Any]:
    import ijson

    from skype_etl_gui.etl.extract import Extractor

    start = time.perf_counter()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE m (conversation_id TEXT, id TEXT, sender_id TEXT, sent_at TEXT, message_type TEXT, "
        "content TEXT, PRIMARY KEY (conversation_id, id))"
    )
    conn.execute("CREATE INDEX m_time ON m (conversation_id, sent_at)")
    rows: list[tuple[Any, ...]] = []
    count = 0
    sql = "INSERT OR REPLACE INTO m VALUES (?, ?, ?, ?, ?, ?)"
    with Extractor(export).messages_json() as stream:
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
    conn.close()
    return {"seconds": time.perf_counter() - start, "messages": count}


KINDS = {
    "floor": floor,
    "worker": lambda export, db, n: import_export(export, f"sqlite:///{db}", n, parallel=True),
    "single": lambda export, db, n: import_export(export, f"sqlite:///{db}", n, parallel=False),
}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(KINDS, sys.argv[1:])
        return
    args = arguments(__doc__)
    with tempfile.TemporaryDirectory() as tmp:
        export = args.export or make_sample(tmp, args.messages)
        best = measure_all(
            __file__,
            list(KINDS),
            export,
            args.batch_size,
            args.repeat,
            lambda kind, i: (os.path.join(tmp, f"{kind}-{i}.db"), lambda: None),
        )
    print(f"export: {os.path.basename(export)}, {best['worker']['messages']:,} message entries, best of {args.repeat}")
    print(line("floor", best["floor"]))
    print(line("import, worker process", best["worker"], best["floor"]))
    print(line("import, one process", best["single"], best["floor"]))
    print("target: the default import (worker process) at most 2.0x the floor, peak RSS under 200 MB")


if __name__ == "__main__":
    main()
