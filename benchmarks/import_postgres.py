"""End-to-end PostgreSQL import against the raw COPY floor, measured in the same run.

The floor: ijson's C backend building every message of the same export, plus
COPY of the same minimal rows (conversation_id, id, sender, time, type,
content) into an indexed table, one transaction per batch. The server is a
throwaway cluster started here (fsync on, as a user's server would be).

    python benchmarks/import_postgres.py --messages 300000 --repeat 3
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
import time
from typing import Any

from harness import (
    arguments,
    child_main,
    fresh_database,
    import_export,
    line,
    make_sample,
    measure_all,
    postgres_server,
)


def floor(export: str, url: str, batch_size: int) -> dict[str, Any]:
    import ijson
    import psycopg2

    from skype_etl_gui.etl.extract import Extractor
    from skype_etl_gui.etl.transform.encoding import copy_text

    start = time.perf_counter()
    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE m (conversation_id TEXT, id TEXT, sender_id TEXT, sent_at TIMESTAMPTZ, message_type TEXT, "
            "content TEXT, PRIMARY KEY (conversation_id, id))"
        )
        cur.execute("CREATE INDEX m_time ON m (conversation_id, sent_at)")
    rows: dict[tuple[Any, Any], tuple[Any, ...]] = {}  # COPY refuses repeated keys: the last entry stays
    count = 0

    def flush() -> None:
        with conn, conn.cursor() as cur:
            cur.execute("CREATE TEMP TABLE IF NOT EXISTS seen (LIKE m) ON COMMIT DROP")
            cur.copy_expert("COPY seen FROM STDIN", io.StringIO(copy_text(list(rows.values()))))
            cur.execute("INSERT INTO m SELECT * FROM seen ON CONFLICT DO NOTHING")

    def flush_direct() -> None:
        with conn, conn.cursor() as cur:
            cur.copy_expert("COPY m FROM STDIN", io.StringIO(copy_text(list(rows.values()))))

    with Extractor(export).messages_json() as stream:
        for msg in ijson.items(stream, "conversations.item.MessageList.item", use_float=True):
            key = (msg.get("conversationid"), msg.get("id"))
            if key[1] is None:
                continue
            rows[key] = (
                key[0],
                key[1],
                msg.get("from"),
                msg.get("originalarrivaltime"),
                msg.get("messagetype"),
                msg.get("content"),
            )
            if len(rows) >= batch_size:
                try:
                    flush_direct()
                except psycopg2.errors.UniqueViolation:  # an edit of a message of an earlier batch
                    flush()
                count += len(rows)
                rows = {}
        if rows:
            flush()
            count += len(rows)
    conn.close()
    return {"seconds": time.perf_counter() - start, "messages": count}


KINDS = {
    "floor": floor,
    "worker": lambda export, url, n: import_export(export, url, n, parallel=True),
    "single": lambda export, url, n: import_export(export, url, n, parallel=False),
}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(KINDS, sys.argv[1:])
        return
    args = arguments(__doc__)
    server = postgres_server()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            export = args.export or make_sample(tmp, args.messages)
            best = measure_all(
                __file__, list(KINDS), export, args.batch_size, args.repeat, lambda kind, i: fresh_database(server)
            )
    finally:
        server.stop()
    print(f"export: {os.path.basename(export)}, {best['worker']['messages']:,} message entries, best of {args.repeat}")
    print(line("floor (COPY)", best["floor"]))
    print(line("import, worker process", best["worker"], best["floor"]))
    print(line("import, one process", best["single"], best["floor"]))
    print("target: the default import (worker process) at most 1.5x the floor, peak RSS under 200 MB")


if __name__ == "__main__":
    main()
