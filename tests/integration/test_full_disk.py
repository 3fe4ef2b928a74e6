"""A disk that really fills up in the middle of a large file (issue 16): a small tmpfs under the archive.

SQLite's file lies on it; PostgreSQL's database is put in a tablespace on it (its
write-ahead log stays on the server's own disk, as a server's usually does). The
import is `skype-etl import` as a person runs it: exit 1, one message that says
how much room is needed, the archive consistent, no half file visible; once the
filesystem is made larger, `--resume` stores the exact bytes.

Mounting needs root (as the test machine and CI run); elsewhere these tests skip.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Database, PgDatabase, message
from tests.etl.test_limits import run_cli
from tests.etl.test_media import DOCS, media_members, messages_json, shared, stored_bytes, write_tar

SMALL_MB = 24
BIG = hashlib.sha256(b"a file larger than the disk").digest() * (1 << 15) * 40  # 40 MiB that do not repeat


class SmallDisk:
    """A tmpfs of SMALL_MB mounted at `path`; `grow(mb)` makes it larger in place."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def mount(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={SMALL_MB}m,mode=0777", "tmpfs", str(self.path)],
            check=True,
            capture_output=True,
        )

    def grow(self, mb: int) -> None:
        subprocess.run(["mount", "-o", f"remount,size={mb}m", str(self.path)], check=True, capture_output=True)

    def unmount(self) -> None:
        subprocess.run(["umount", "-l", str(self.path)], capture_output=True)


@pytest.fixture()
def small_disk() -> Iterator[SmallDisk]:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small filesystem needs root")
    # not under pytest's folders (readable by root only): the server's own user must reach a tablespace
    folder = Path(tempfile.mkdtemp(prefix="skype-etl-small-"))
    folder.chmod(0o755)
    disk = SmallDisk(folder / "disk")
    try:
        disk.mount()
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"this machine does not let a test mount a tmpfs ({exc.stderr.strip()})")
    try:
        yield disk
    finally:
        disk.unmount()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture()
def export(tmp_path: Path) -> Path:
    docs = {**DOCS, "0-weu-d3-big": ("big.bin", "application/octet-stream", BIG)}
    extra = [message("9", shared("0-weu-d3-big", "big.bin"), "RichText/Media_GenericFile")]
    return write_tar(tmp_path / "e.tar", [("messages.json", messages_json(extra)), *media_members(docs)])


@pytest.fixture(params=["sqlite", "postgresql"])
def archive_on_small_disk(request: pytest.FixtureRequest, small_disk: SmallDisk) -> Iterator[Any]:
    """An archive whose files lie on the small disk."""
    if request.param == "sqlite":
        yield Database(small_disk.path / "history.db")
        return
    server = request.getfixturevalue("pg_server")
    space = small_disk.path / "pg"
    space.mkdir()
    if server.as_postgres:
        shutil.chown(space, "postgres")
    tablespace, name = f"small_{uuid.uuid4().hex[:8]}", f"t_{uuid.uuid4().hex[:12]}"
    server.admin(f"CREATE TABLESPACE {tablespace} LOCATION '{space}'")
    server.admin(f"CREATE DATABASE {name} TABLESPACE {tablespace}")
    try:
        yield PgDatabase(server, name)
    finally:
        server.drop_database(name)
        server.admin(f"DROP TABLESPACE IF EXISTS {tablespace}")


def test_a_disk_that_fills_up_inside_a_large_file(
    archive_on_small_disk: Any, small_disk: SmallDisk, export: Path
) -> None:
    db = archive_on_small_disk
    done, _ = run_cli("import", str(export), "--db", db.url, "--quiet")
    assert done.returncode == 1, (done.returncode, done.stderr)
    said = done.stderr
    assert "full" in said or "No space left" in said, said
    needed = re.search(r"need about (\d+) MB more", said)
    assert needed is not None and 20 <= int(needed[1]) <= 60, said
    # consistent: every message stored, no half file named, the run resumable
    assert db.one("SELECT count(*) FROM messages") == 4
    assert db.one("SELECT count(*) FROM media_files WHERE size = ?", (len(BIG),)) == 0
    # SQLite records the failure; a PostgreSQL server out of room may not take even that row, and the run is
    # then one whose process is gone: interrupted, for the history as for --resume
    listed, _ = run_cli("runs", "--db", db.url)
    assert re.search(r"\b(failed|interrupted)\s+\(can be resumed\)", listed.stdout), listed.stdout
    if isinstance(db, Database):
        assert db.one("SELECT status FROM etl_runs ORDER BY started_at DESC LIMIT 1") == "failed"
    if isinstance(db, Database):
        assert db.one("PRAGMA integrity_check") == "ok"

    small_disk.grow(200)
    resumed, _ = run_cli("import", str(export), "--db", db.url, "--resume", "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert stored_bytes(db, hashlib.sha256(BIG).hexdigest()) == BIG
    assert db.one("SELECT count(*) FROM media_uploads") == 0
    assert db.one("SELECT count(*) FROM media_chunks WHERE file_id NOT IN (SELECT file_id FROM media_files)") == 0
    assert db.one("SELECT count(*) FROM messages") == 4
