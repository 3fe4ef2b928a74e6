"""Broken, odd and crafted input: a clear message, the right exit code, nothing lost, nothing written outside."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from skype_etl_gui.etl import ETLPipeline, ExportError
from skype_etl_gui.etl.extract import Extractor, MessageChunk
from skype_etl_gui.sample import write_sample
from tests.conftest import Database, conversation, export_document, message, write_export

ROOT = Path(__file__).resolve().parent.parent.parent


def skype_etl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "skype_etl_gui", *args], capture_output=True, text=True, timeout=300, cwd=ROOT
    )


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


# --- not an export at all -------------------------------------------------------------------------
def test_conversations_not_a_list_exit_2(tmp_path: Path, db: Database) -> None:
    path = write_export(tmp_path / "e.json", {"userId": "x", "conversations": "nope"})
    done = skype_etl("import", str(path), "--db", db.url)
    assert done.returncode == 2
    assert "is a string, not a list" in one_error_line(done) and str(path) in done.stderr
    assert not db.exists() or db.count("etl_runs") == 0


def test_unreadable_file_exit_2(tmp_path: Path, db: Database) -> None:
    path = write_export(tmp_path / "e.json", export_document([]))
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            # root reads anyway, and `nobody` cannot run this interpreter (it lives under /root)
            pytest.skip("running as root: permissions do not stop reading")
        done = skype_etl("import", str(path), "--db", db.url)
        assert done.returncode == 2 and "cannot be read" in one_error_line(done)
        assert not db.exists()
    finally:
        path.chmod(0o600)


# --- breaking during the run --------------------------------------------------------------------------
def test_tar_cut_short(tmp_path: Path, db: Database) -> None:
    full = tmp_path / "full.tar"
    stats = write_sample(full, messages=4000, seed=8, media=False)
    cut = tmp_path / "cut.tar"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    done = skype_etl("import", str(cut), "--db", db.url, "--batch-size", "200", "--json")
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and str(cut) in done.stderr
    assert json.loads(done.stdout.splitlines()[-1])["status"] == "failed"
    assert db.count("messages") > 0
    assert db.one("SELECT count(*) FROM etl_errors WHERE severity = 'fatal'") == 1
    assert skype_etl("import", str(full), "--db", db.url, "--quiet").returncode == 0
    assert db.count("messages") == stats.unique_messages


# --- records of the wrong shape -------------------------------------------------------------------------
DEEP = "__DEEP__"  # replaced in the JSON text: Python's own json cannot nest this deep
DEEP_JSON = '{"deep": ' + "[" * 3000 + "]" * 3000 + "}"
SHAPES: list[tuple[str, Any, str | None, bool]] = [
    ("content is a number", message("1", content=42), "NonStringContent", True),
    ("id is a number", message(2, content="x"), "NonStringId", True),
    ("properties is a string", message("3", properties="edited"), "InvalidProperties", True),
    ("from is null", message("4", **{"from": None}), "MissingSender", True),
    ("messagetype is null", message("5", messagetype=None), "MissingMessageType", True),
    ("message is a string", "just text", "InvalidMessage", False),
    ("message is null", None, "InvalidMessage", False),
    ("timestamp is a number", message("6", originalarrivaltime=1600000000123), "InvalidTimestamp", True),
    ("timestamp is garbage", message("7", originalarrivaltime="last tuesday"), "InvalidTimestamp", True),
    ("properties nested 3000 deep", message("8", properties=DEEP), "NestedTooDeep", True),
    ("id is an object", message({"a": 1}), "MissingMessageId", False),
]


@pytest.mark.parametrize(("name", "entry", "error_type", "stored"), SHAPES, ids=[s[0] for s in SHAPES])
def test_wrong_shapes_are_repaired_or_skipped_and_logged(
    tmp_path: Path, db: Database, name: str, entry: Any, error_type: str | None, stored: bool
) -> None:
    doc = export_document([conversation("8:anna", [message("0"), entry, message("9")])])
    path = tmp_path / "e.json"
    path.write_text(json.dumps(doc).replace(f'"{DEEP}"', DEEP_JSON))
    done = skype_etl("import", str(path), "--db", db.url, "--json", "--quiet")
    assert done.returncode == 0, done.stderr
    ids = {r[0] for r in db.query("SELECT id FROM messages")}
    assert {"0", "9"} <= ids and len(ids) == (3 if stored else 2)
    assert db.query("SELECT error_type FROM etl_errors") == [(error_type,)]


def test_conversation_shapes(tmp_path: Path, db: Database) -> None:
    doc = export_document(
        [
            conversation("8:a", [message("1")]),
            {"id": "8:null-list", "MessageList": None},
            {"displayName": "no id", "MessageList": [message("2")]},
            "not a conversation",
            conversation("8:b", [message("3")]),
        ]
    )
    path = write_export(tmp_path / "e.json", doc)
    summary = ETLPipeline(db.url).run(path)
    assert summary["status"] == "completed"
    assert {r[0] for r in db.query("SELECT id FROM conversations")} == {"8:a", "8:null-list", "8:b"}
    assert sorted(r[0] for r in db.query("SELECT id FROM messages")) == ["1", "3"]
    errors = sorted(r[0] for r in db.query("SELECT error_type FROM etl_errors"))
    assert errors == ["InvalidMessageList", "MissingConversationId", "MissingConversationId"]


def test_a_50_mb_message(tmp_path: Path, db: Database) -> None:
    huge = ("word " * 10_000_000)[:50_000_000]
    path = write_export(tmp_path / "e.json", export_document([conversation("8:a", [message("1"), message("2", huge)])]))
    summary = ETLPipeline(db.url).run(path)
    assert summary["status"] == "completed" and summary["errors"] == 0
    assert db.one("SELECT length(content_raw) FROM messages WHERE id = '2'") == 50_000_000


def test_a_huge_message_is_read_in_reads_that_grow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """yajl lexes a token spanning reads from its start at every read: 64 KB reads made a 200 MB message cost
    78 s. Reads double while a token goes on, so the work is linear: a handful of reads, not 600."""
    from skype_etl_gui.etl.extract import walker

    reads: list[int] = []
    real = walker.Feeder.read

    def counted(self: Any, size: int) -> bytes:
        data = real(self, size)
        reads.append(len(data))
        return data

    monkeypatch.setattr(walker.Feeder, "read", counted)
    huge = "x" * 40_000_000
    path = write_export(tmp_path / "e.json", export_document([conversation("8:a", [message("1"), message("2", huge)])]))
    events = Extractor(path).events()
    assert sum(len(e.entries) for e in events if isinstance(e, MessageChunk)) == 2
    assert len(reads) < 40, f"{len(reads)} reads"
    assert max(reads) <= 64 * 1024 * 1024


def test_200000_nested_lists_are_one_row_not_the_machine(tmp_path: Path, db: Database) -> None:
    """Under 1 MB that made the importer grow to 24 GB: now the value is left out, once, and memory stays flat."""
    deep = "[" * 200_000 + "]" * 200_000
    document = export_document([conversation("8:a", [message("1"), message("2", properties={"x": 1}), message("3")])])
    text = json.dumps(document).replace('{"x": 1}', '{"emotions": ' + deep + "}")
    path = tmp_path / "deep.json"
    path.write_text(text)
    for parallel in (False, True):
        summary = ETLPipeline(db.url, parallel=parallel).run(path)
        assert summary["status"] == "completed" and summary["messages"] == 3
        assert summary["telemetry"]["memory_peak_mb"] < 300
    rows = db.query("SELECT message_id, message FROM etl_errors WHERE error_type = 'NestedTooDeep'")
    assert [r[0] for r in rows] == ["2", "2"] and "(399,8" in rows[0][1]  # once an import, naming the message
    stored = json.loads(db.one("SELECT properties FROM messages WHERE id = '2'"))
    assert stored["emotions"][0][0][0] is not None and "left out" in json.dumps(stored, ensure_ascii=False)


# --- archives that try to reach outside ------------------------------------------------------------------
def _tar(path: Path, members: list[tarfile.TarInfo], payloads: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w") as tar:
        for info in members:
            data = payloads.get(info.name)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _link(name: str, target: str, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


@pytest.mark.parametrize(
    "members",
    [
        lambda data: [_file("../messages.json", data)],
        lambda data: [_file("/messages.json", data)],
        lambda data: [(_link("messages.json", "/etc/hostname", tarfile.SYMTYPE), b"")],
        lambda data: [_file("real.json", data), (_link("messages.json", "real.json", tarfile.LNKTYPE), b"")],
    ],
    ids=["parent path", "absolute path", "symlink outside", "hard link"],
)
def test_only_a_plain_messages_json_is_read(tmp_path: Path, db: Database, members: Any) -> None:
    data = json.dumps(export_document([conversation("8:a", [message("1")])])).encode()
    entries = [m if isinstance(m, tuple) else (m, b"") for m in members(data)]
    path = _tar(tmp_path / "evil.tar", [info for info, _ in entries], {info.name: body for info, body in entries})
    with pytest.raises(ExportError, match="no messages.json"):
        ETLPipeline(db.url).run(path)
    done = skype_etl("import", str(path), "--db", db.url)
    assert done.returncode == 2 and "no messages.json" in one_error_line(done)


def test_evil_members_beside_a_good_export_are_never_written(tmp_path: Path, db: Database) -> None:
    data = json.dumps(export_document([conversation("8:a", [message("1")])])).encode()
    outside = tmp_path / "outside"
    members = [
        _file("messages.json", data),
        _file(f"../{outside.name}/evil.txt", b"x"),
        _file(str(outside / "absolute.txt"), b"x"),
        (_link("media/link", str(outside / "linked.txt"), tarfile.SYMTYPE), b""),
    ]
    entries = [m if isinstance(m, tuple) else (m, b"") for m in members]
    workdir = tmp_path / "work"
    workdir.mkdir()
    path = _tar(workdir / "export.tar", [i for i, _ in entries], {i.name: b for i, b in entries})
    summary = ETLPipeline(db.url).run(path)
    assert summary["status"] == "completed" and db.count("messages") == 1
    assert not outside.exists()
    assert sorted(p.name for p in workdir.iterdir()) == ["export.tar"]


# --- content is data ---------------------------------------------------------------------------------------
def test_content_is_stored_verbatim(tmp_path: Path, db: Database) -> None:
    texts = [
        "'; DROP TABLE messages; --",
        "%s %d %(name)s {} {0} {name}",
        '<img src="https://tracker.example/x.png"><script>alert(1)</script>',
        "\\x00 \\N \\\\",
    ]
    path = write_export(
        tmp_path / "e.json", export_document([conversation("8:a", [message(str(i), t) for i, t in enumerate(texts)])])
    )
    ETLPipeline(db.url).run(path)
    stored = dict(db.query("SELECT id, content_raw FROM messages"))
    assert [stored[str(i)] for i in range(len(texts))] == texts
    assert db.one("SELECT content_text FROM messages WHERE id = '2'") == "alert(1)"
    assert db.count("messages") == len(texts)
