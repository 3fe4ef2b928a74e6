"""The export's media/ into the archive: content-addressed, linked by document id, in any order, on both databases."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest

from skype_etl_gui.etl import ETLPipeline
from skype_etl_gui.etl.errors import ExportError
from skype_etl_gui.etl.load import open_existing
from tests.conftest import conversation, export_document, message

PHOTO = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 50
CLIP = bytes(reversed(range(256))) * 9000  # a little over 2 MiB: three chunks
DOCS = {"0-weu-d3-photo": ("beach.png", "image/png", PHOTO), "0-weu-d3-clip": ("clip.mp4", "video/mp4", CLIP)}


def shared(doc: str, name: str) -> str:
    return (
        f'<URIObject type="File.1" uri="https://api.asm.skype.com/v1/objects/{doc}" doc_id="{doc}">'
        f'<OriginalName v="{name}"/></URIObject>'
    )


def messages_json(extra: list[dict[str, Any]] | None = None) -> bytes:
    entries = [
        message("1", shared("0-weu-d3-photo", "beach.png"), "RichText/Media_GenericFile"),
        message("2", shared("0-weu-d3-clip", "clip.mp4"), "RichText/Media_GenericFile"),
        message("3", shared("0-weu-d3-expired", "old.jpg"), "RichText/Media_GenericFile"),
        *(extra or []),
    ]
    return json.dumps(export_document([conversation("8:anna", entries)])).encode()


def media_members(docs: dict[str, tuple[str, str, bytes]] = DOCS) -> list[tuple[str, bytes]]:
    members = []
    for doc, (name, kind, data) in docs.items():
        members.append((f"media/{doc}.1.{name.rsplit('.', 1)[-1]}", data))
        sidecar = {"filename": name, "contents": {"1": {"type": kind}}, "expiry_date": "2025-12-31"}
        members.append((f"media/{doc}.json", json.dumps(sidecar).encode()))
    return members


def write_tar(path: Path, members: list[tuple[str, bytes] | tarfile.TarInfo], gz: bool = False) -> Path:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tar.addfile(member)
                continue
            name, data = member
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    path.write_bytes(gzip.compress(buffer.getvalue(), mtime=0) if gz else buffer.getvalue())
    return path


def imported(db: Any, path: Path, **options: Any) -> dict[str, Any]:
    summary = ETLPipeline(db.url, **options).run(str(path))
    assert summary["status"] == "completed", summary["error"]
    return summary


def stored_bytes(db: Any, sha256: str) -> bytes:
    loader = open_existing(db.url)
    try:
        return b"".join(loader.open_media(sha256))
    finally:
        loader.close()


def media_tables(db: Any) -> dict[str, list[tuple[Any, ...]]]:
    return {
        "files": db.query("SELECT sha256, size, content_type, file_name FROM media_files ORDER BY sha256"),
        "docs": db.query("SELECT doc_id, sha256, file_name, content_type FROM media_docs ORDER BY doc_id"),
        "chunks": db.query("SELECT count(*), sum(length(data)) FROM media_chunks"),
        "attachments": db.query("SELECT doc_id, sha256 FROM attachments ORDER BY doc_id"),
    }


def check_archive(db: Any) -> None:
    want = {doc: hashlib.sha256(data).hexdigest() for doc, (_, _, data) in DOCS.items()}
    assert db.query("SELECT doc_id, sha256 FROM attachments ORDER BY doc_id") == [
        ("0-weu-d3-clip", want["0-weu-d3-clip"]),
        ("0-weu-d3-expired", None),  # expired: not in the export
        ("0-weu-d3-photo", want["0-weu-d3-photo"]),
    ]
    files = db.query("SELECT sha256, size, content_type, file_name FROM media_files ORDER BY file_name")
    assert files == [
        (want["0-weu-d3-photo"], len(PHOTO), "image/png", "beach.png"),
        (want["0-weu-d3-clip"], len(CLIP), "video/mp4", "clip.mp4"),
    ]
    for doc, (_, _, data) in DOCS.items():
        assert stored_bytes(db, want[doc]) == data
    assert db.query("SELECT error_type, message_id FROM etl_errors WHERE substr(error_type, 1, 5) = 'Media'") == [
        ("MediaMissing", "3")
    ]


@pytest.mark.parametrize("order", ["media first", "media last", "mixed"])
def test_media_in_any_order_of_the_tar(any_db: Any, tmp_path: Path, order: str) -> None:
    media = media_members()
    if order == "media first":
        members = [*media, ("messages.json", messages_json())]
    elif order == "media last":
        members = [("messages.json", messages_json()), *media]
    else:  # a sidecar after its file, another before, messages.json between them
        members = [media[1], media[0], ("messages.json", messages_json()), media[3], media[2]]
    summary = imported(any_db, write_tar(tmp_path / "export.tar", members))
    check_archive(any_db)
    assert summary["media"]["files"] == 2 and summary["media"]["stored"] == 2
    assert summary["media"]["bytes"] == len(PHOTO) + len(CLIP)
    assert summary["media"]["missing"] == 1 and summary["media"]["orphans"] == 0
    # again: nothing changes, nothing is read again
    before = media_tables(any_db)
    again = imported(any_db, write_tar(tmp_path / "export.tar", members))
    assert media_tables(any_db) == before
    assert again["media"]["already"] == 2 and again["media"]["bytes"] == 0


def test_a_tar_gz_and_an_extracted_export(any_db: Any, tmp_path: Path) -> None:
    imported(
        any_db, write_tar(tmp_path / "export.tar.gz", [("messages.json", messages_json()), *media_members()], gz=True)
    )
    check_archive(any_db)
    folder = tmp_path / "extracted"
    (folder / "media").mkdir(parents=True)
    (folder / "messages.json").write_bytes(messages_json())
    for name, data in media_members():
        (folder / name).write_bytes(data)
    before = media_tables(any_db)
    summary = imported(any_db, folder / "messages.json")
    assert media_tables(any_db) == before  # the same files, stored once
    assert summary["media"]["files"] == 2


# --- a .tar.gz, read once ----------------------------------------------------------------------------
def gz_export(tmp_path: Path, order: str, body: bytes | None = None) -> Path:
    messages = ("messages.json", body or messages_json())
    media = media_members()
    members = [*media, messages] if order == "media first" else [messages, *media]
    return write_tar(tmp_path / "export.tar.gz", members, gz=True)


def many_messages(count: int = 600) -> bytes:
    """messages.json with `count` more messages, each of its own words (so that it does not compress to nothing)."""
    words = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(count)]
    return messages_json([message(str(10 + i), f"{words[i]} {words[i - 1][:20]}") for i in range(count)])


def gone_once_read(patch: pytest.MonkeyPatch, export: Path) -> None:
    """The export deleted as soon as its one reading (OnePass) has it open: whatever opened it again would fail."""
    from skype_etl_gui.etl.extract.media import OnePass

    reading = OnePass.__iter__

    def deleting(self: Any) -> Any:
        for entry in reading(self):
            export.unlink(missing_ok=True)
            yield entry

    patch.setattr(OnePass, "__iter__", deleting)


@pytest.mark.parametrize("parallel", [False, True], ids=["one process", "worker"])
@pytest.mark.parametrize("order", ["media first", "media last"])
def test_a_tar_gz_is_read_once(
    any_db: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, order: str, parallel: bool
) -> None:
    """The import reads a .tar.gz through once: each file is stored as it streams by and messages.json reaches the
    parser (in this process or the worker) through a pipe. So the export can go once that reading has begun (it
    is deleted here) and the import still completes; its progress is of the compressed file, to the end."""
    export = gz_export(tmp_path, order)
    size = export.stat().st_size
    gone_once_read(monkeypatch, export)
    pipeline = ETLPipeline(any_db.url, parallel=parallel, progress_interval_s=0)
    context = pipeline.new_context()
    seen: list[Any] = []
    context.subscribe("progress", seen.append)
    summary = pipeline.run(str(export), context=context)
    assert summary["status"] == "completed", summary["error"]
    assert not export.exists()
    check_archive(any_db)
    assert any_db.one("SELECT count(*) FROM messages") == 3
    assert summary["media"]["files"] == 2 and summary["media"]["stored"] == 2
    # the run's row says whose export it is, though the files came before messages.json said it
    assert any_db.query("SELECT export_user_id, owner_id, export_date FROM etl_runs") == [
        ("8:live:.cid.me", "8:live:.cid.me", "2025-04-30T18:22")
    ]
    assert {p.bytes_total for p in seen} == {size}
    read = [p.bytes_read for p in seen]
    assert read == sorted(read) and seen[-1].percent == pytest.approx(100.0)


def test_the_inspection_of_a_tar_gz_stops_at_its_media(tmp_path: Path) -> None:
    """Finding messages.json after the media would read them all once more before the import does: an export
    whose media come first is taken for one at its first file."""
    from skype_etl_gui.etl.extract import inspect_export

    assert inspect_export(gz_export(tmp_path, "media first")).member is None
    assert inspect_export(gz_export(tmp_path, "media last")).member == "messages.json"


@pytest.mark.parametrize("parallel", [False, True], ids=["one process", "worker"])
@pytest.mark.parametrize("order", ["media first", "media last"])
def test_a_tar_gz_stopped_inside_its_messages_resumes_with_every_file_once(
    any_db: Any, tmp_path: Path, order: str, parallel: bool
) -> None:
    export = gz_export(tmp_path, order, many_messages())
    pipeline = ETLPipeline(any_db.url, batch_size=100, parallel=parallel)
    context = pipeline.new_context()
    context.subscribe("checkpoint", lambda checkpoint: pipeline.cancel())
    stopped = pipeline.run(str(export), context=context)
    assert stopped["status"] == "cancelled", stopped
    assert 0 < any_db.one("SELECT count(*) FROM messages") < 603
    resumed = ETLPipeline(any_db.url, batch_size=100, parallel=parallel).run(str(export), resume=True)
    assert resumed["status"] == "completed" and resumed["resumed"], resumed["error"]
    assert any_db.one("SELECT count(*) FROM messages") == 603
    check_archive(any_db)
    assert resumed["media"]["files"] == 2
    assert resumed["media"]["already"] == (2 if order == "media first" else 0)
    assert any_db.one("SELECT count(*) FROM media_chunks WHERE file_id NOT IN (SELECT file_id FROM media_files)") == 0


@pytest.mark.parametrize("parallel", [False, True], ids=["one process", "worker"])
def test_a_tar_gz_cut_inside_its_messages_fails_resumably(any_db: Any, tmp_path: Path, parallel: bool) -> None:
    """The files before messages.json are stored; the run fails saying the tar ends inside messages.json (it does
    not hang on the pipe), and the whole export, imported again, stores the rest with nothing twice."""
    whole = gz_export(tmp_path, "media first", many_messages())
    data = whole.read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(data[: len(data) * 2 // 3])
    summary = ETLPipeline(any_db.url, batch_size=100, parallel=parallel).run(str(cut))
    assert summary["status"] == "failed"
    assert "messages.json cannot be read to its end" in summary["error"], summary["error"]
    assert any_db.one("SELECT count(*) FROM media_files") == 2
    again = ETLPipeline(any_db.url, parallel=parallel).run(str(whole))
    assert again["status"] == "completed", again["error"]
    assert again["media"]["already"] == 2
    assert any_db.one("SELECT count(*) FROM messages") == 603
    check_archive(any_db)


def test_a_tar_gz_of_media_without_messages_json(any_db: Any, tmp_path: Path) -> None:
    """Its files are stored as they came (nothing is lost), and the run fails saying what is missing; a .tar.gz
    with neither is rejected before anything is written."""
    export = write_tar(tmp_path / "photos.tar.gz", media_members(), gz=True)
    summary = ETLPipeline(any_db.url).run(str(export))
    assert summary["status"] == "failed" and "no messages.json" in summary["error"]
    assert any_db.one("SELECT count(*) FROM media_files") == 2
    other = write_tar(tmp_path / "other.tar.gz", [("notes.txt", b"hello")], gz=True)
    with pytest.raises(ExportError, match="no messages.json"):
        ETLPipeline(any_db.url).run(str(other))


def test_duplicates_are_stored_once_and_orphans_are_kept(any_db: Any, tmp_path: Path) -> None:
    docs = {
        **DOCS,
        "0-weu-d3-again": ("beach copy.png", "image/png", PHOTO),  # the same photo sent twice
        "0-weu-d3-lonely": ("nobody.txt", "text/plain", b"no message names me"),  # an orphan
        "0-weu-d3-empty": ("empty.txt", "text/plain", b""),
    }
    extra = [
        message("4", shared("0-weu-d3-again", "beach copy.png"), "RichText/Media_GenericFile"),
        message("5", shared("0-weu-d3-empty", "empty.txt"), "RichText/Media_GenericFile"),
    ]
    summary = imported(
        any_db, write_tar(tmp_path / "e.tar", [("messages.json", messages_json(extra)), *media_members(docs)])
    )
    assert summary["media"]["stored"] == 4 and summary["media"]["duplicates"] == 1
    stored_new = sum(len(data) for doc, (_, _, data) in docs.items() if doc != "0-weu-d3-again")
    assert summary["media"]["bytes"] == stored_new  # what was stored: the copy's bytes are not stored again
    photo = hashlib.sha256(PHOTO).hexdigest()
    assert any_db.one("SELECT count(*) FROM media_files") == 4
    assert any_db.query("SELECT doc_id FROM attachments WHERE sha256 = ? ORDER BY doc_id", (photo,)) == [
        ("0-weu-d3-again",),
        ("0-weu-d3-photo",),
    ]
    assert stored_bytes(any_db, hashlib.sha256(b"").hexdigest()) == b""
    lonely = hashlib.sha256(b"no message names me").hexdigest()
    assert stored_bytes(any_db, lonely) == b"no message names me"
    orphans = any_db.query("SELECT message FROM etl_errors WHERE error_type = 'MediaOrphan'")
    assert len(orphans) == 1 and "0-weu-d3-lonely" in orphans[0][0]
    # no chunk is kept twice: the duplicate's went
    assert any_db.one("SELECT count(DISTINCT file_id) FROM media_chunks") == 4


def test_bad_members_are_skipped_with_a_row_and_nothing_is_written_outside(any_db: Any, tmp_path: Path) -> None:
    link = tarfile.TarInfo("media/0-weu-d3-link.1.png")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    device = tarfile.TarInfo("media/0-weu-d3-dev.1.png")
    device.type = tarfile.CHRTYPE
    members: list[Any] = [
        ("messages.json", messages_json()),
        *media_members(),
        link,
        device,
        ("media/../../escape.png", b"outside"),
        ("media/sub/0-weu-d3-deep.1.png", b"deeper"),
        ("media/0-weu-d3-bad.json", b"{not json"),
    ]
    export = write_tar(tmp_path / "e.tar", members)
    before = files_beside(tmp_path)
    summary = imported(any_db, export)
    check_archive_skipping(any_db, summary)
    assert files_beside(tmp_path) == before  # nothing extracted, nothing written but the database


def files_beside(folder: Path) -> list[str]:
    """The files under `folder`, the test's SQLite database (and its -wal, -shm) aside."""
    return sorted(str(p) for p in folder.rglob("*") if ".db" not in p.name)


def check_archive_skipping(db: Any, summary: dict[str, Any]) -> None:
    rows = db.query("SELECT message FROM etl_errors WHERE error_type = 'MediaSkipped' ORDER BY message")
    assert len(rows) == 5 and summary["media"]["skipped"] == 5
    text = " ".join(r[0] for r in rows)
    assert "not a file" in text and "outside media/" in text and "not valid JSON" in text
    assert db.one("SELECT count(*) FROM media_files") == 2


def test_a_truncated_file_fails_the_run_resumably_and_stores_nothing_half(any_db: Any, tmp_path: Path) -> None:
    whole = write_tar(tmp_path / "whole.tar", [("messages.json", messages_json()), *media_members()])
    data = whole.read_bytes()
    clip_at = data.index(CLIP[:4096])
    cut = tmp_path / "cut.tar"
    cut.write_bytes(data[: clip_at + len(CLIP) // 2])  # the tar ends inside the clip
    summary = ETLPipeline(any_db.url).run(str(cut))
    assert summary["status"] == "failed" and "truncated" in summary["error"]
    assert any_db.one("SELECT count(*) FROM media_files WHERE size = ?", (len(CLIP),)) == 0
    assert any_db.one("SELECT count(*) FROM etl_errors WHERE severity = 'fatal'") == 1
    # the next run (of the whole export) clears the half upload and stores the clip whole
    imported(any_db, whole)
    assert any_db.one("SELECT count(*) FROM media_uploads") == 0
    assert any_db.one("SELECT count(*) FROM media_chunks WHERE file_id NOT IN (SELECT file_id FROM media_files)") == 0
    assert stored_bytes(any_db, hashlib.sha256(CLIP).hexdigest()) == CLIP


def test_a_full_disk_fails_the_run_resumably_saying_how_much_space(
    any_db: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from skype_etl_gui.etl.errors import DatabaseError
    from skype_etl_gui.etl.load.base import Loader

    big = bytes(range(256)) * (4096 * 20)  # 20 MiB: stored as an upload, 16 MiB a transaction
    docs = {**DOCS, "0-weu-d3-big": ("big.bin", "application/octet-stream", big)}
    extra = [message("9", shared("0-weu-d3-big", "big.bin"), "RichText/Media_GenericFile")]
    export = write_tar(tmp_path / "e.tar", [("messages.json", messages_json(extra)), *media_members(docs)])
    real = Loader.media_finish

    def full(self: Any, *args: Any, **kwargs: Any) -> Any:
        if any(file.sha256 == hashlib.sha256(big).hexdigest() for file in args[0]):
            raise DatabaseError(f"{self.display_url}: database or disk is full")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Loader, "media_finish", full)
    failed = ETLPipeline(any_db.url).run(str(export))
    assert failed["status"] == "failed"
    assert "disk is full" in failed["error"]
    needed = re.search(r"need about (\d+) MB more", failed["error"])
    assert needed and 21 <= int(needed[1]) <= 24  # the big file, and the photos written with it
    assert any_db.one("SELECT count(*) FROM media_files WHERE size = ?", (len(big),)) == 0  # no half file
    monkeypatch.setattr(Loader, "media_finish", real)
    resumed = ETLPipeline(any_db.url).run(str(export), resume=True)
    assert resumed["status"] == "completed" and resumed["resumed"]
    assert stored_bytes(any_db, hashlib.sha256(big).hexdigest()) == big
    assert any_db.one("SELECT count(*) FROM media_uploads") == 0


def test_a_real_sqlite_full_inside_a_large_file_fails_cleanly_then_resumes(
    db: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's own SQLITE_FULL (the file may not grow past max_page_count), part way into a 40 MiB upload: the
    run fails, resumable, says how much room it needs, names no half file; with room again it resumes."""
    import sqlite3

    import skype_etl_gui.etl.load.sqlite as sqlite_loader

    big = hashlib.sha256(b"seed").digest() * (1 << 15) * 40  # 40 MiB
    docs = {**DOCS, "0-weu-d3-big": ("big.bin", "application/octet-stream", big)}
    extra = [message("9", shared("0-weu-d3-big", "big.bin"), "RichText/Media_GenericFile")]
    export = write_tar(tmp_path / "e.tar", [("messages.json", messages_json(extra)), *media_members(docs)])
    real = sqlite3.connect

    class Small:  # the loader's sqlite3, whose files may not grow past about 20 MiB
        def __getattr__(self, name: str) -> Any:
            return getattr(sqlite3, name)

        @staticmethod
        def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
            conn = real(*args, **kwargs)
            conn.execute("PRAGMA max_page_count = 320")  # 64 KiB pages
            return conn

    monkeypatch.setattr(sqlite_loader, "sqlite3", Small())
    failed = ETLPipeline(db.url).run(str(export))
    assert failed["status"] == "failed", failed
    assert "full" in failed["error"] and re.search(r"need about \d+ MB more", failed["error"]), failed["error"]
    assert db.one("SELECT count(*) FROM media_files WHERE size = ?", (len(big),)) == 0  # no half file
    assert db.one("SELECT count(*) FROM media_uploads") == 1  # its chunks so far, to be removed
    monkeypatch.setattr(sqlite_loader, "sqlite3", sqlite3)
    resumed = ETLPipeline(db.url).run(str(export), resume=True)
    assert resumed["status"] == "completed" and resumed["resumed"]
    assert stored_bytes(db, hashlib.sha256(big).hexdigest()) == big
    assert db.one("SELECT count(*) FROM media_uploads") == 0
    assert db.one("SELECT count(*) FROM media_chunks WHERE file_id NOT IN (SELECT file_id FROM media_files)") == 0


def test_a_run_stopped_between_its_messages_and_its_media_resumes_with_the_media(
    any_db: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancelled when every message is stored and the media step has just begun: the resume stores each file
    once, and the messages are neither lost nor doubled."""
    from skype_etl_gui.etl.load.base import Loader

    export = write_tar(tmp_path / "e.tar", [("messages.json", messages_json()), *media_members()])
    pipeline = ETLPipeline(any_db.url, parallel=False)
    real = Loader.media_stored_docs

    def stop_at_media(self: Any) -> Any:  # the media step's first read: every message is stored by now
        pipeline.cancel()
        return real(self)

    monkeypatch.setattr(Loader, "media_stored_docs", stop_at_media)
    stopped = pipeline.run(str(export))
    monkeypatch.setattr(Loader, "media_stored_docs", real)
    assert stopped["status"] == "cancelled", stopped
    assert any_db.one("SELECT count(*) FROM messages") == 3
    resumed = ETLPipeline(any_db.url).run(str(export), resume=True)
    assert resumed["status"] == "completed" and resumed["resumed"]
    assert any_db.one("SELECT count(*) FROM messages") == 3
    check_archive(any_db)
    assert any_db.one("SELECT count(*) FROM media_chunks WHERE file_id NOT IN (SELECT file_id FROM media_files)") == 0


@pytest.mark.parametrize("gz", [False, True], ids=["tar", "tar.gz"])
def test_a_pause_holds_the_media_step(any_db: Any, tmp_path: Path, gz: bool) -> None:
    """Pause holds between files (a transaction's worth: 16 MiB) as between batches: what was stored is
    committed, nothing more is stored until Resume, and then the rest is."""
    import threading

    docs = {f"0-weu-d3-{i}": (f"photo{i}.png", "image/png", bytes([i]) * (6 << 20)) for i in range(6)}
    export = write_tar(
        tmp_path / f"e.tar{'.gz' if gz else ''}", [("messages.json", messages_json()), *media_members(docs)], gz=gz
    )
    pipeline = ETLPipeline(any_db.url, parallel=False, progress_interval_s=0)
    context = pipeline.new_context()
    context.subscribe("progress", lambda p: pipeline.pause() if p.media_bytes and not held else None)  # stored some
    held: list[int] = []

    def watch() -> None:
        assert pipeline.wait_until_holding(30)
        held.append(any_db.one("SELECT count(*) FROM media_files"))
        time.sleep(0.5)
        held.append(any_db.one("SELECT count(*) FROM media_files"))
        pipeline.resume()

    watcher = threading.Thread(target=watch)
    watcher.start()
    summary = pipeline.run(str(export), context=context)
    watcher.join()
    assert summary["status"] == "completed", summary["error"]
    assert held[0] == held[1] and 1 <= held[0] < 6
    assert any_db.one("SELECT count(*) FROM media_files") == 6


def test_the_media_step_keeps_the_run_s_heartbeat(db: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No batch is written while files are stored, so the media step says the run is alive itself (another
    machine takes a run silent for 15 minutes for gone)."""
    from skype_etl_gui.etl.load.base import Loader
    from skype_etl_gui.etl.run import pipeline

    export = write_tar(tmp_path / "e.tar", [("messages.json", messages_json()), *media_members()])
    beats: list[str] = []
    monkeypatch.setattr(pipeline, "HEARTBEAT_EVERY_S", 0)
    monkeypatch.setattr(Loader, "beat", lambda self, run_id: beats.append(run_id))
    summary = imported(db, export, parallel=False)
    assert beats and set(beats) == {summary["run_id"]}


def test_progress_counts_the_media_bytes_of_the_whole_export(db: Any, tmp_path: Path) -> None:
    """A tar that is mostly media: the percentage goes on through the files, and reaches 100 at their end."""
    export = write_tar(tmp_path / "e.tar", [("messages.json", messages_json()), *media_members()])
    pipeline = ETLPipeline(db.url, parallel=False, progress_interval_s=0)
    context = pipeline.new_context()
    seen: list[Any] = []
    context.subscribe("progress", seen.append)
    assert pipeline.run(str(export), context=context)["status"] == "completed"
    media_bytes = len(PHOTO) + len(CLIP)
    assert seen[-1].bytes_total >= media_bytes and seen[-1].percent == pytest.approx(100.0)
    before_media = [p for p in seen if p.media_files == 0]
    assert before_media and before_media[-1].percent < 20  # messages.json is a small part of this export
    during = [p.percent for p in seen if p.media_files]
    assert during == sorted(during) and len(during) >= 2
    assert seen[-1].media_files == 2 and seen[-1].media_bytes == media_bytes


@pytest.mark.parametrize("order", ["media first", "media last"])
def test_the_preview_reads_a_tar_gz_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, order: str) -> None:
    """A .tar.gz has no index: the survey reads it once, as the import does, parsing messages.json and counting
    the media as they come, its percentage of the whole file; a plain tar's media come from its headers."""
    from skype_etl_gui.etl.extract import survey as surveying

    monkeypatch.setattr(surveying, "REPORT_EVERY_S", 0)
    many = many_messages(3000)
    members = [("messages.json", many), *media_members()]
    if order == "media first":
        members = [*members[1:], members[0]]
    size = len(PHOTO) + len(CLIP)
    for name, gz in (("export.tar.gz", True), ("export.tar", False)):
        reports: list[dict[str, Any]] = []
        export = write_tar(tmp_path / name, members, gz=gz)
        with monkeypatch.context() as patch:
            if gz:
                gone_once_read(patch, export)
            found = surveying.survey(str(export), report=reports.append)
        assert (found["messages"], found["media_files"], found["media_bytes"]) == (3003, 2, size)
        assert found["complete"] and found["kind"] == ("tar.gz" if gz else "tar")
        percents = [report["percent"] for report in reports]
        assert percents == sorted(percents) and 0 < percents[-1] <= 100
        if gz:
            media_seen = [report["media_files"] for report in reports]
            assert media_seen == sorted(media_seen)
            # each counted as it passes: before the first message is read (first), or after messages were (last)
            if order == "media first":
                assert all(report["media_files"] == 2 for report in reports if report["messages"])
            else:
                assert any(report["messages"] and not report["media_files"] for report in reports)


def test_the_preview_of_a_tar_gz_without_messages_json(tmp_path: Path) -> None:
    from skype_etl_gui.etl.extract.survey import survey

    with pytest.raises(ExportError, match="no messages.json"):
        survey(str(write_tar(tmp_path / "photos.tar.gz", media_members(), gz=True)))
