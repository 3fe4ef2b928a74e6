"""A media file of several hundred MB: flat memory, and a kill inside it then --resume stores it exactly once."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest

from skype_etl_gui.etl.load import open_existing
from tests.etl.test_limits import run_cli
from tests.etl.test_media import messages_json

ROOT = Path(__file__).resolve().parent.parent.parent
BIG = 300 * (1 << 20)  # 300 MiB


@pytest.fixture(scope="module")
def big_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """messages.json naming the clip, then the clip: 300 MiB of bytes that do not repeat, written a block at a time."""
    folder = tmp_path_factory.mktemp("big-media")
    clip = folder / "0-weu-d3-clip.1.mp4"
    digest = hashlib.sha256()
    with open(clip, "wb") as out:
        for _ in range(BIG // (1 << 20)):
            block = os.urandom(1 << 20)
            digest.update(block)
            out.write(block)
    export = folder / "export.tar"
    data = folder / "messages.json"
    data.write_bytes(messages_json())
    with tarfile.open(export, "w") as tar:
        tar.add(data, arcname="messages.json")
        tar.add(clip, arcname="media/0-weu-d3-clip.1.mp4")
    clip.unlink()
    return export, digest.hexdigest()


def stored_sha256(db: Any, sha256: str) -> str:
    loader = open_existing(db.url)
    try:
        digest = hashlib.sha256()
        for chunk in loader.open_media(sha256):
            digest.update(chunk)
        return digest.hexdigest()
    finally:
        loader.close()


def test_a_kill_inside_a_large_file_then_resume(big_export: tuple[Path, str], any_db: Any) -> None:
    export, sha256 = big_export
    process = subprocess.Popen(
        [sys.executable, "-m", "skype_etl_gui", "import", str(export), "--db", any_db.url, "--quiet"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # media_chunks rows a MiB: one in SQLite, PostgreSQL's rows fit a page
    per_mib = 1 if any_db.url.startswith("sqlite") else -(-(1 << 20) // 8000)
    deadline = time.monotonic() + 120
    while True:  # until a third of the clip is committed, as an upload
        assert process.poll() is None, "the import ended before it could be killed"
        assert time.monotonic() < deadline
        try:
            if any_db.one("SELECT count(*) FROM media_chunks") >= 100 * per_mib:
                break
        except Exception:  # noqa: BLE001 - the tables may not exist yet
            pass
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    assert any_db.one("SELECT count(*) FROM media_files WHERE size = ?", (BIG,)) == 0  # no half file is a file
    assert any_db.one("SELECT count(*) FROM media_uploads") == 1

    done, peak_mb = run_cli("import", str(export), "--db", any_db.url, "--resume", "--json")
    assert done.returncode == 0, done.stderr
    assert peak_mb < 200, f"peak RSS {peak_mb:.0f} MB"
    assert any_db.query("SELECT sha256, size FROM media_files") == [(sha256, BIG)]
    assert any_db.one("SELECT count(*) FROM media_uploads") == 0
    assert any_db.one("SELECT count(*) FROM media_chunks") == BIG // (1 << 20) * per_mib  # exactly once
    assert any_db.one("SELECT sum(length(data)) FROM media_chunks") == BIG
    assert stored_sha256(any_db, sha256) == sha256
    assert any_db.one("SELECT sha256 FROM attachments WHERE doc_id = '0-weu-d3-clip'") == sha256
