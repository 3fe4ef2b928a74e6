"""Media import throughput against copying the same bytes to a file on the same disk, measured in the same run.

An export whose tar is mostly media: one large video and many photos. The floor copies each media member's
bytes out of the tar into a file beside it (and fsyncs it, as a database commits durably); the import stores
the same files in the archive (hashing, chunking, committing). The ratio is the import's MB/s over the
floor's: the target (issue 16) is at least 0.5 on SQLite and on PostgreSQL. Also: a message import without
media is as fast as before (see import_sqlite.py).

    python benchmarks/media.py --big-mb 500 --photos 300 [--gz] [--media-first]
"""

from __future__ import annotations

import argparse
import os
import sys
import tarfile
import tempfile
import time
from typing import Any

from harness import PeakMemory, fresh_database, postgres_server


def make_export(folder: str, big_mb: int, photos: int, media_first: bool = False, gz: bool = False) -> tuple[str, int]:
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    from tests.conftest import conversation, export_document, message

    entries, members = [], []
    for i in range(photos + 1):
        doc = f"0-weu-d3-{i:032x}"
        name = "movie.mp4" if i == 0 else f"photo_{i}.jpg"
        uri = (
            f'<URIObject type="File.1" uri="https://api.asm.skype.com/v1/objects/{doc}" doc_id="{doc}">'
            f'<OriginalName v="{name}"/></URIObject>'
        )
        entries.append(message(str(i + 1), uri, "RichText/Media_GenericFile"))
        members.append((doc, name, big_mb << 20 if i == 0 else 2 << 20))
    import json

    path = os.path.join(folder, "export.tar")
    data = os.path.join(folder, "messages.json")
    with open(data, "w") as out:
        json.dump(export_document([conversation("8:anna", entries)]), out)
    total = 0
    if gz:
        path += ".gz"
    # gzip's fastest level: random bytes do not compress, and the export is written once a run of this script
    with tarfile.open(path, "w:gz" if gz else "w", **({"compresslevel": 1} if gz else {})) as tar:  # type: ignore[call-overload]
        if not media_first:
            tar.add(data, arcname="messages.json")
        for doc, name, size in members:
            blob = os.path.join(folder, "blob")
            with open(blob, "wb") as out:
                for _ in range(size >> 20):
                    out.write(os.urandom(1 << 20))
            tar.add(blob, arcname=f"media/{doc}.1.{name.rsplit('.', 1)[-1]}")
            total += size
            os.remove(blob)
        if media_first:
            tar.add(data, arcname="messages.json")
    return path, total


def _members(export: str) -> Any:
    """The tar, read as the import reads it: a .tar.gz streamed through once (decompressing is the floor's too)."""
    return tarfile.open(export, "r|gz" if export.endswith(".gz") else "r:")


def copy_floor(export: str, folder: str) -> float:
    start = time.perf_counter()
    with _members(export) as tar:
        for info in tar:
            if not info.name.startswith("media/"):
                continue
            source = tar.extractfile(info)
            assert source is not None
            target = os.path.join(folder, "copy")
            with open(target, "wb") as out:
                while block := source.read(1 << 20):
                    out.write(block)
                out.flush()
                os.fsync(out.fileno())
            os.remove(target)
    return time.perf_counter() - start


def postgres_floor(export: str, url: str) -> float:
    """PostgreSQL's own ingest of the same bytes: each media member's bytes, read out of the tar, sent by binary
    COPY in rows that fit a page (as the importer's), 16 MiB a transaction, into a scratch table; no hashing, no
    bookkeeping. What the server can take on this machine, whatever the importer does."""
    import io
    import struct

    import psycopg2

    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("CREATE TABLE floor_chunks (file_id bigint, seq int, data bytea, PRIMARY KEY (file_id, seq))")
            cur.execute("ALTER TABLE floor_chunks ALTER COLUMN data SET STORAGE PLAIN")
        start = time.perf_counter()
        with _members(export) as tar:
            for number, info in enumerate(tar):
                source = tar.extractfile(info) if info.name.startswith("media/") else None
                seq = 0
                while source is not None and (block := source.read(16 << 20)):
                    parts = [b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)]
                    for at in range(0, len(block), 8000):
                        row = block[at : at + 8000]
                        parts += (struct.pack("!hiqiii", 3, 8, number, 4, seq, len(row)), row)
                        seq += 1
                    parts.append(struct.pack("!h", -1))
                    with conn, conn.cursor() as cur:
                        cur.copy_expert(
                            "COPY floor_chunks FROM STDIN WITH (FORMAT binary)", io.BytesIO(b"".join(parts))
                        )
        seconds = time.perf_counter() - start
        with conn, conn.cursor() as cur:
            cur.execute("DROP TABLE floor_chunks")
        return seconds
    finally:
        conn.close()


def import_media(export: str, url: str) -> tuple[float, float, dict[str, Any]]:
    from skype_etl_gui.etl import ETLPipeline

    memory = PeakMemory()
    start = time.perf_counter()
    summary = ETLPipeline(url).run(export)
    seconds = time.perf_counter() - start
    assert summary["status"] == "completed", summary
    return seconds, memory.stop_mb(), summary["media"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--big-mb", type=int, default=500)
    parser.add_argument("--photos", type=int, default=300, help="2 MiB each")
    parser.add_argument("--repeat", type=int, default=3, help="the best of this many runs of each (the disk is noisy)")
    parser.add_argument("--gz", action="store_true", help="a .tar.gz (the floor decompresses it too)")
    parser.add_argument("--media-first", action="store_true", help="media/ before messages.json in the tar")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as tmp:
        export, total = make_export(tmp, args.big_mb, args.photos, args.media_first, args.gz)
        mb = total / 1e6
        floor = min(copy_floor(export, tmp) for _ in range(args.repeat))
        print(
            f"media: {mb:,.0f} MB in {args.photos + 1} files, {os.path.basename(export)}"
            f"{', media first' if args.media_first else ''}; copy floor {floor:.2f} s ({mb / floor:,.0f} MB/s)"
        )
        db = os.path.join(tmp, "archive.db")
        runs = []
        for _ in range(args.repeat):
            runs.append(import_media(export, f"sqlite:///{db}"))
            for name in ("archive.db", "archive.db-wal", "archive.db-shm"):
                if os.path.exists(os.path.join(tmp, name)):
                    os.remove(os.path.join(tmp, name))
        report("sqlite", runs, mb, floor)
        server = postgres_server()
        try:
            runs, raw = [], []
            for _ in range(args.repeat):
                url, cleanup = fresh_database(server)
                try:
                    raw.append(postgres_floor(export, url))
                    runs.append(import_media(export, url))
                finally:
                    cleanup()
        finally:
            server.stop()
        report("postgresql", runs, mb, floor)
        print(
            f"postgresql's own floor (binary COPY of the bytes, nothing else): {min(raw):.2f} s "
            f"({mb / min(raw):,.0f} MB/s), {floor / min(raw):.2f}x the copy's speed; "
            f"the import is {min(raw) / min(r[0] for r in runs):.2f}x that floor"
        )
        print("target: at least 0.50x the copy's speed on both")


def report(name: str, runs: list[tuple[float, float, dict[str, Any]]], mb: float, floor: float) -> None:
    seconds = min(r[0] for r in runs)
    peak = max(r[1] for r in runs)
    print(
        f"{name}: {seconds:.2f} s ({mb / seconds:,.0f} MB/s), {floor / seconds:.2f}x the copy's speed, "
        f"peak RSS {peak:.0f} MB, {runs[0][2]['stored']} files stored"
    )


if __name__ == "__main__":
    main()
