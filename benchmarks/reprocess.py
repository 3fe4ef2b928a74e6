"""`reprocess` against importing the same messages again, on SQLite and PostgreSQL, measured in the same run.

Three kinds, each in a fresh process, on the same export:
- import: the export into an empty database (the worker process, the default)
- reprocess, unchanged: the archive that import made (every message read and derived, nothing to write)
- reprocess, all changed: the same archive with every derived value erased first (texts, details, senders,
  attachments, reactions, mentions), so every message is rewritten, as for an archive of an old version

The target (issue 14): reprocess at least 3x faster than the import.

    python benchmarks/reprocess.py --messages 300000 --repeat 2
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from typing import Any

from harness import arguments, child_main, import_export, line, make_sample, measure_all, postgres_server

ERASE = [
    "UPDATE messages SET content_text = '', details = NULL, sender_id = sender_raw, edited_at = NULL, reply_to = NULL",
    "DELETE FROM attachments",
    "DELETE FROM reactions",
    "DELETE FROM mentions",
]


def reprocess(export: str, url: str, batch_size: int) -> dict[str, Any]:
    from skype_etl_gui.etl.load import open_existing
    from skype_etl_gui.etl.run.reprocess import Reprocess

    start = time.perf_counter()
    loader = open_existing(url)
    try:
        summary = Reprocess(loader).run()
    finally:
        loader.close()
    assert summary["status"] == "completed", summary
    return {"seconds": time.perf_counter() - start, "messages": summary["messages"], "changed": summary["changed"]}


KINDS = {
    "import": lambda export, url, n: import_export(export, url, n, parallel=True),
    "unchanged": reprocess,
    "changed": reprocess,
}


class SQLiteTargets:
    def __init__(self, folder: str, export: str, batch_size: int) -> None:
        self.folder = folder
        self.base = os.path.join(folder, "base.db")
        import_export(export, f"sqlite:///{self.base}", batch_size, parallel=True)
        with sqlite3.connect(self.base) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def __call__(self, kind: str, i: int) -> tuple[str, Any]:
        path = os.path.join(self.folder, f"{kind}-{i}.db")
        if kind != "import":
            shutil.copy(self.base, path)
        if kind == "changed":
            with sqlite3.connect(path) as conn:
                for statement in ERASE:
                    conn.execute(statement)
        return f"sqlite:///{path}", lambda: None


class PostgresTargets:
    def __init__(self, server: Any, export: str, batch_size: int) -> None:
        self.server = server
        self.base = server.create_database()
        import_export(export, server.url(self.base), batch_size, parallel=True)

    def __call__(self, kind: str, i: int) -> tuple[str, Any]:
        name = "b_" + uuid.uuid4().hex[:12]
        template = f" TEMPLATE {self.base}" if kind != "import" else ""
        self.server.admin(f"CREATE DATABASE {name}{template}")
        if kind == "changed":
            self.server.psql(name, "-q", script=";\n".join(ERASE) + ";\n")
        self.server.admin("VACUUM ANALYZE", database=name)
        return self.server.url(name), lambda: self.server.drop_database(name)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(KINDS, sys.argv[1:])
        return
    args = arguments(__doc__)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        export = args.export or make_sample(tmp, args.messages)
        results["sqlite"] = measure_all(
            __file__, list(KINDS), export, args.batch_size, args.repeat, SQLiteTargets(tmp, export, args.batch_size)
        )
        server = postgres_server()
        try:
            results["postgresql"] = measure_all(
                __file__,
                list(KINDS),
                export,
                args.batch_size,
                args.repeat,
                PostgresTargets(server, export, args.batch_size),
            )
        finally:
            server.stop()
    print(f"export: {os.path.basename(export)}, best of {args.repeat}")
    for target, best in results.items():
        imported = best["import"]
        print(line(f"{target}: import", imported))
        for kind in ("unchanged", "changed"):
            result = best[kind]
            ratio = imported["seconds"] / result["seconds"]
            print(
                line(f"{target}: reprocess, {kind}", result)
                + f"  {result['changed']:,} rows changed; import / reprocess {ratio:.2f}x"
            )
    print("target: reprocess at least 3x faster than the import of the same messages")


if __name__ == "__main__":
    main()
