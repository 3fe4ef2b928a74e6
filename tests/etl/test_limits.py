"""Limits that hold whatever the input: memory past its limit, exports that expand a thousandfold, headers that lie,
a million conversations. Each finishes or stops cleanly, with bounded memory and nothing written but the database."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from skype_etl_gui.etl import ETLPipeline
from tests.bigfiles import tar_gz_with_filler
from tests.conftest import Database, conversation, export_document, message

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """skype-etl as a person runs it, with the peak memory of it and its worker process together (sampled)."""
    child = subprocess.Popen(
        [sys.executable, "-m", "skype_etl_gui", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        process = psutil.Process(child.pid)
        while not done.wait(0.02):
            try:
                total = process.memory_info().rss + sum(c.memory_info().rss for c in process.children(recursive=True))
            except psutil.Error:
                continue
            peak = max(peak, total)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = child.communicate(timeout=300)
    done.set()
    sampler.join()
    return subprocess.CompletedProcess(child.args, child.returncode, out, err), peak / 2**20


def only(folder: Path, *names: str) -> None:
    """Nothing was written beside the export but the database (and SQLite's own files)."""
    made = {p.name for p in folder.iterdir()} - set(names)
    assert made <= {"history.db", "history.db-wal", "history.db-shm"}, made


def head_of(conversation_id: str) -> bytes:
    document = json.dumps(export_document([conversation(conversation_id, [message("1"), message("2")])]))
    head, _, _ = document.rpartition('"content": "hello"')
    return (head + '"content": "').encode()


def test_a_tar_gz_that_expands_a_thousandfold(tmp_path: Path) -> None:
    """2 MB on disk, a 2 GB message inside: stopped at the memory limit, cleanly, naming where."""
    export = tar_gz_with_filler(tmp_path / "bomb.tar.gz", head_of("8:bomb"), b"a", 2 * 2**30, b'"}]}]}')
    assert export.stat().st_size < 4 * 2**20
    db = tmp_path / "history.db"
    done, peak = run_cli("import", str(export), "--db", f"sqlite:///{db}", "--memory-limit", "400", "--quiet")
    assert done.returncode == 1, done.stderr
    assert "memory use reached" in done.stderr and "conversation 8:bomb" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert peak < 400 + 300, f"peak {peak:.0f} MB"
    assert Database(db).one("SELECT status FROM etl_runs") == "failed", "resumable"
    only(tmp_path, export.name)


@pytest.mark.parametrize("kind", ["tar", "tar.gz"])
def test_a_tar_header_claiming_a_terabyte(tmp_path: Path, kind: str) -> None:
    data = json.dumps(export_document([conversation("8:a", [message("1")])])).encode()
    info = tarfile.TarInfo("messages.json")
    info.size = 2**40
    buffer = io.BytesIO()
    buffer.write(info.tobuf(tarfile.GNU_FORMAT))  # the size as base-256: a terabyte, of which 200 bytes are there
    buffer.write(data)
    raw = buffer.getvalue()
    export = tmp_path / f"liar.{kind}"
    if kind == "tar":
        export.write_bytes(raw)
    else:
        import gzip

        export.write_bytes(gzip.compress(raw))
    db = tmp_path / "history.db"
    started = time.monotonic()
    done, peak = run_cli("import", str(export), "--db", f"sqlite:///{db}", "--quiet")
    assert time.monotonic() - started < 20 and peak < 200
    if kind == "tar":  # read in place up to the file's end: the JSON there is whole, so it is imported
        assert done.returncode == 0, done.stderr
        assert Database(db).count("messages") == 1
    else:  # a compressed stream that ends early: one line saying so
        assert done.returncode == 1 and "looks truncated" in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
    only(tmp_path, export.name)


@pytest.mark.slow
def test_a_million_tiny_conversations(tmp_path: Path) -> None:
    export = tmp_path / "million.json"
    with export.open("w") as out:
        out.write('{"userId": "8:me", "exportDate": "2025-01-01T00:00", "conversations": [')
        for n in range(1_000_000):
            entries = json.dumps([message("1")]) if n % 2 else "[]"
            separator = "," if n else ""
            out.write(f'{separator}{{"id": "8:c{n}", "threadProperties": null, "MessageList": {entries}}}')
        out.write("]}")
    db = tmp_path / "history.db"
    # in a process of its own: this test process's own size (whatever ran before it) is not the importer's
    driver = (
        "import json, sys\n"
        "from skype_etl_gui.etl import ETLPipeline\n"
        "s = ETLPipeline(sys.argv[2]).run(sys.argv[1])\n"
        "print(json.dumps({k: s[k] for k in ('status', 'conversations', 'messages')} | "
        "{'peak': s['telemetry']['memory_peak_mb']}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", driver, str(export), f"sqlite:///{db}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["status"] == "completed" and summary["conversations"] == 1_000_000
    assert summary["messages"] == 500_000
    assert summary["peak"] < 200, f"the importer and its worker peaked at {summary['peak']:.0f} MB"
    assert Database(db).count("conversations") == 1_000_000
    only(tmp_path, export.name)


def test_a_conversation_row_is_made_once_unless_its_messages_span_batches(
    tmp_path: Path, any_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A conversation that fits in a batch is one row written once, from its whole header (keys after
    MessageList included); one whose messages span batches is written with its first batch (its messages need
    it) and again at its end. The owner stays a member of a one-to-one chat, not a sender, either way."""
    from skype_etl_gui.etl.transform.transformer import Transformer

    made: list[str] = []
    real = Transformer.conversation

    def counted(self: Transformer, header: Any) -> Any:
        made.append(header.get("id"))
        return real(self, header)

    monkeypatch.setattr(Transformer, "conversation", counted)
    me = {"from": "8:live:.cid.me", "displayName": "Me"}
    small = [{"id": f"8:c{n}", "MessageList": [message("1", **me)], "displayName": f"C{n}"} for n in range(20)]
    long = "x" * 1000  # 200 kB of messages: read in several pieces, so that a batch ends among them
    big = {"id": "8:big", "MessageList": [message(str(n), long, **me) for n in range(1, 200)], "displayName": "Big"}
    document = export_document([*small, big])
    path = tmp_path / "e.json"
    path.write_text(json.dumps(document))
    summary = ETLPipeline(any_db.url, parallel=False, batch_size=25).run(str(path))
    assert summary["status"] == "completed", summary["error"]
    assert made.count("8:c0") == 1 and made.count("8:big") == 2
    assert any_db.one("SELECT display_name FROM conversations WHERE id = '8:c3'") == "C3"  # read after its messages
    assert any_db.query(
        "SELECT conversation_id, source FROM participants WHERE participant_id = '8:live:.cid.me' "
        "AND conversation_id IN ('8:c0', '8:big') ORDER BY conversation_id"
    ) == [("8:big", "member"), ("8:c0", "member")]


def test_the_memory_limit_counts_the_worker_too(tmp_path: Path) -> None:
    """The limit is for the importer and its worker together: a worker alone over it stops the run."""
    export = tar_gz_with_filler(tmp_path / "big.tar.gz", head_of("8:big"), b"b", 600 * 2**20, b'"}]}]}')
    db = tmp_path / "history.db"
    importer = psutil.Process().memory_info().rss / 2**20
    limit = importer + 350  # the worker reading a 600 MB message goes past it; this process alone never does
    summary = ETLPipeline(f"sqlite:///{db}", memory_limit_mb=limit, parallel=True).run(export)
    assert summary["status"] == "failed" and "memory use reached" in summary["error"]
    assert os.path.exists(db)
