"""Search and reading speed (issue 17), and what keeping the search index costs the import, in the same run.

1. The import's cost of the index: the same sample imported with the index
   (as shipped) and without it (the schema's search statements left out), in
   fresh processes, best of --repeat; the ratio's target is at most 1.4x.
2. Search: a mix of rare words, common words, phrases, prefixes, exclusions and
   from:/in: filters, each asked --rounds times for the first page of 50 hits;
   p50 and p95 per kind and over all (targets: SQLite with 1,000,000 messages
   50 ms p95, PostgreSQL with 300,000 messages 100 ms p95).
3. Opening a message in context (`messages(around=…)`, 50 before and after) at
   random messages: p50 and p95 (target: 300 ms).
4. Scrolling one conversation end to end by keyset pages: time, pages and the
   peak RSS it added (target: flat).

    python benchmarks/search.py --sqlite-messages 1000000 --pg-messages 300000
    python benchmarks/search.py --sqlite-messages 200000 --pg-messages 0 --skip-import-cost
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from typing import Any

from harness import PeakMemory, fresh_database, make_sample, postgres_server, run_child


def import_without_index(export: str, url: str, batch_size: int) -> dict[str, Any]:
    import skype_etl_gui.etl.load.postgres as postgres_loader
    import skype_etl_gui.etl.load.schema as schema
    import skype_etl_gui.etl.load.sqlite as sqlite_loader

    # PostgreSQL: the column stays (a rare rewrite sets it) but is never filled, indexed or made in the worker
    schema.search_index = lambda dialect: (  # type: ignore[assignment]
        ["ALTER TABLE messages ADD COLUMN IF NOT EXISTS search tsvector"] if dialect == "postgresql" else []
    )
    postgres_loader.FILL_SEARCH = "SELECT 1"  # type: ignore[misc]
    postgres_loader.PostgresLoader.search_column = False
    sqlite_loader.search_index.index_new = lambda conn: 0  # type: ignore[assignment]
    sqlite_loader.search_index.behind = lambda conn: False  # type: ignore[assignment]
    sqlite_loader.SQLiteLoader._index_new = lambda self: None  # type: ignore[method-assign]
    sqlite_loader.search_index.indexed_messages = lambda conn, keys: {}  # type: ignore[assignment]
    return _import(export, url, batch_size)


def _import(export: str, url: str, batch_size: int) -> dict[str, Any]:
    from harness import import_export

    return import_export(export, url, batch_size, parallel=True)


KINDS = {"with": _import, "without": import_without_index}


def import_cost(export: str, folder: str, repeat: int, url_of: Any) -> tuple[float, float]:
    best: dict[str, float] = {}
    for _ in range(repeat):
        for kind in KINDS:
            url, cleanup = url_of(kind)
            try:
                seconds = run_child(__file__, kind, export, url, 5000)["seconds"]
            finally:
                cleanup()
            best[kind] = min(best.get(kind, seconds), seconds)
    return best["with"], best["without"]


def queries(archive: Any, rng: random.Random) -> dict[str, list[str]]:
    """The query mix, from the archive's own words and people."""
    from skype_etl_gui.etl.fold import words

    counts: dict[str, int] = {}
    sample = archive.loader.select("SELECT content_text FROM messages WHERE content_text <> '' LIMIT 20000")
    for (text,) in sample:
        for word in set(words(text)):
            if len(word) > 2 and word.isalpha():
                counts[word] = counts.get(word, 0) + 1
    ranked = sorted(counts, key=counts.get, reverse=True)  # type: ignore[arg-type]
    common, rare = ranked[:20], [w for w in ranked if counts[w] <= 2][:200] or ranked[-20:]
    texts = [t for (t,) in sample if len(words(t)) >= 4]
    phrases = ['"' + " ".join(words(t)[1:3]) + '"' for t in rng.sample(texts, min(20, len(texts)))]
    senders = [p for (p,) in archive.loader.select("SELECT DISTINCT participant_id FROM participants LIMIT 50")]
    conversations = [c["id"] for c in archive.conversations()[:30]]
    return {
        "rare word": rng.sample(rare, min(20, len(rare))),
        "common word": common,
        "two common words": [f"{a} {b}" for a, b in zip(common, common[1:] + common[:1], strict=True)],
        "phrase": phrases,
        "prefix": [w[:3] + "*" for w in common],
        "exclusion": [f"{a} -{b}" for a, b in zip(common, reversed(common), strict=True) if a != b],
        "from:": [f"{rng.choice(common)} from:{rng.choice(senders)}" for _ in range(20)],
        "in:": [f"{rng.choice(common)} in:{rng.choice(conversations)}" for _ in range(20)],
    }


def percentiles(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"p50 {statistics.median(ordered) * 1000:6.1f} ms  p95 {p95 * 1000:6.1f} ms  (n={len(ordered)})"


def measure_reading(url: str, label: str, rounds: int, seed: int = 5) -> None:
    from skype_etl_gui.archive import Archive, QueryError

    rng = random.Random(seed)
    with Archive(url) as archive:
        total = archive.loader.select("SELECT count(*) FROM messages")[0][0]
        print(f"{label}: {total:,} messages")
        mix = queries(archive, rng)
        every: list[float] = []
        for kind, asked in mix.items():
            times = []
            for _ in range(rounds):
                for query in asked:
                    start = time.perf_counter()
                    try:
                        archive.search(query, limit=50)
                    except QueryError:
                        continue
                    times.append(time.perf_counter() - start)
            every += times
            print(f"  search {kind:<17} {percentiles(times)}")
        print(f"  search, all kinds        {percentiles(every)}")
        keys = archive.loader.select(
            "SELECT owner_id, conversation_id, id FROM messages ORDER BY owner_id, conversation_id, id LIMIT 200000"
        )
        times = []
        for owner, conv, mid in rng.sample(keys, min(100, len(keys))):
            start = time.perf_counter()
            archive.messages(owner, conv, around=mid, before=50, after=50)
            times.append(time.perf_counter() - start)
        print(f"  a message in context     {percentiles(times)}")
        biggest = max(archive.conversations(), key=lambda c: c["messages"])
        memory = PeakMemory()
        base = memory.process.memory_info().rss / 2**20
        start, pages, seen = time.perf_counter(), 0, 0
        page = archive.page(biggest["owner_id"], biggest["id"], limit=200)
        while page:
            pages += 1
            seen += len(page)
            page = archive.page(
                biggest["owner_id"], biggest["id"], older_than=(page[0]["sent_at"], page[0]["id"]), limit=200
            )
        seconds = time.perf_counter() - start
        print(
            f"  scrolling {biggest['id']} end to end: {seen:,} messages in {pages:,} pages of 200, {seconds:.2f} s "
            f"({seconds / max(pages, 1) * 1000:.1f} ms a page), peak RSS {memory.stop_mb():.0f} MB "
            f"(from {base:.0f} MB)"
        )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        from harness import child_main

        child_main(KINDS, sys.argv[1:])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sqlite-messages", type=int, default=1_000_000)
    parser.add_argument("--pg-messages", type=int, default=300_000)
    parser.add_argument("--cost-messages", type=int, default=300_000, help="the import-cost sample's size")
    parser.add_argument("--repeat", type=int, default=3, help="import-cost runs (best of)")
    parser.add_argument("--rounds", type=int, default=3, help="times each query is asked")
    parser.add_argument("--skip-import-cost", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as tmp:
        if not args.skip_import_cost:
            export = make_sample(tmp, args.cost_messages)
            n = [0]

            def sqlite_url(kind: str) -> tuple[str, Any]:
                n[0] += 1
                path = os.path.join(tmp, f"cost-{n[0]}.db")
                return f"sqlite:///{path}", lambda: [
                    os.remove(path + s) for s in ("", "-wal", "-shm") if os.path.exists(path + s)
                ]

            with_s, without_s = import_cost(export, tmp, args.repeat, sqlite_url)
            print(
                f"import of {args.cost_messages:,} messages into SQLite: {with_s:.2f} s with the index, "
                f"{without_s:.2f} s without: {with_s / without_s:.2f}x (target: at most 1.40x)"
            )
        if args.sqlite_messages:
            export = make_sample(tmp, args.sqlite_messages)
            path = os.path.join(tmp, "search.db")
            print(f"importing {args.sqlite_messages:,} messages into SQLite ...", flush=True)
            _import(export, f"sqlite:///{path}", 5000)
            measure_reading(f"sqlite:///{path}", "sqlite", args.rounds)
            os.remove(export)
        if args.pg_messages or not args.skip_import_cost:
            server = postgres_server()
            try:
                if not args.skip_import_cost:
                    export = make_sample(tmp, args.cost_messages)
                    with_s, without_s = import_cost(export, tmp, args.repeat, lambda kind: fresh_database(server))
                    print(
                        f"import of {args.cost_messages:,} messages into PostgreSQL: {with_s:.2f} s with the index, "
                        f"{without_s:.2f} s without: {with_s / without_s:.2f}x (target: at most 1.40x)"
                    )
                if args.pg_messages:
                    export = make_sample(tmp, args.pg_messages)
                    url, cleanup = fresh_database(server)
                    try:
                        print(f"importing {args.pg_messages:,} messages into PostgreSQL ...", flush=True)
                        _import(export, url, 5000)
                        measure_reading(url, "postgresql", args.rounds)
                    finally:
                        cleanup()
            finally:
                server.stop()
        print("targets: search p95 50 ms (SQLite, 1M) and 100 ms (PostgreSQL, 300k); in context 300 ms")


if __name__ == "__main__":
    main()
