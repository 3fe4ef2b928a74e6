"""Checkpoints and resume: an interrupted import continues to exactly the uninterrupted result."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from skype_etl_gui.etl import ETLPipeline, ExportError
from skype_etl_gui.etl.extract import Boundary, ConversationEnd, Extractor, MessageChunk, Position
from skype_etl_gui.sample import USER_ID, SampleStats, write_sample
from tests.conftest import Database, conversation, export_document, message, write_export


class Stop(Exception):
    pass


def entries_and_headers(events: list[Any]) -> tuple[list[tuple[Any, Any]], dict[Any, Any]]:
    entries = []
    headers = {}
    for event in events:
        if isinstance(event, MessageChunk):
            entries += [(event.conversation_id, m.get("id") if isinstance(m, dict) else m) for m in event.entries]
        elif isinstance(event, ConversationEnd):
            headers[event.conversation_id] = event.header
    return entries, headers


def cut_and_resume(path: Path, after: int, precise: bool = True) -> tuple[list[Any], list[Any], Position]:
    """Stream until `after` entries, ask for a boundary, stop there; then resume from it."""
    extractor = Extractor(path, chunk_size=512)
    before: list[Any] = []
    seen = [0]
    found: list[Position] = []

    def sink(event: Any) -> None:
        if isinstance(event, Boundary):
            found.append(event.position)
            raise Stop()
        before.append(event)
        if isinstance(event, MessageChunk):
            seen[0] += len(event.entries)
            if seen[0] >= after:
                extractor.request_boundary()

    with pytest.raises(Stop):
        extractor.stream(sink)
    position = found[0]
    if not precise:
        position = Position(position.conversation_index, position.entries_done)
    after_events = Extractor(path, start=position).events()
    return before, after_events, position


def document() -> dict[str, Any]:
    return export_document(
        [
            conversation("8:anna", [message(str(i), "a" * (i % 40)) for i in range(30)]),
            conversation(
                "19:g@thread.skype",
                [message(str(100 + i), "b\n\t\\ \u00e9") for i in range(25)],
                threadProperties={"topic": "T", "members": '["8:a"]'},
                displayName="Group",
            ),
            conversation("8:tiny", [message("200")]),
            conversation("8:empty", []),
            conversation("8:last", [message(str(300 + i)) for i in range(10)]),
        ]
    )


@pytest.mark.parametrize("kind", ["json", "tar", "tar.gz"])
@pytest.mark.parametrize("after", [1, 7, 29, 30, 31, 54, 55, 56, 60])
@pytest.mark.parametrize("precise", [True, False], ids=["at-the-byte", "parse-and-skip"])
def test_cut_and_resume_gives_every_entry_once(tmp_path: Path, kind: str, after: int, precise: bool) -> None:
    doc = document()
    path = write_export(tmp_path / f"e.{kind}", doc, kind)
    full_entries, full_headers = entries_and_headers(Extractor(path).events())
    before, after_events, position = cut_and_resume(path, after, precise)
    first, _ = entries_and_headers(before)
    second, headers = entries_and_headers(after_events)
    assert first + second == full_entries
    assert (position.byte_offset is not None) == precise
    for conv_id, header in headers.items():
        assert header == full_headers[conv_id]


def test_boundary_bytes_point_at_an_entry(tmp_path: Path) -> None:
    path = write_export(tmp_path / "e.json", document())
    data = path.read_bytes()
    for after in (3, 30, 40):
        _, _, position = cut_and_resume(path, after)
        assert position.byte_offset is not None
        assert data[position.byte_offset : position.byte_offset + 1] == b"{"


# --- whole imports ----------------------------------------------------------------------------
def interrupted(
    url: str, path: Path, stop_after_checkpoints: int, parallel: bool, batch_size: int = 250
) -> dict[str, Any]:
    """Import, cancelling once `stop_after_checkpoints` batches are committed."""
    pipeline = ETLPipeline(url, batch_size=batch_size, parallel=parallel)
    context = pipeline.new_context()
    seen = [0]

    def on_checkpoint(checkpoint: dict[str, Any]) -> None:
        seen[0] += 1
        if seen[0] >= stop_after_checkpoints:
            pipeline.cancel()

    context.subscribe("checkpoint", on_checkpoint)
    return pipeline.run(path, context=context)


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SampleStats]:
    path = tmp_path_factory.mktemp("resume") / "export.tar"
    return path, write_sample(path, messages=3000, seed=21)


@pytest.fixture(scope="module")
def reference(export: tuple[Path, SampleStats], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    database = Database(tmp_path_factory.mktemp("reference") / "full.db")
    assert ETLPipeline(database.url).run(export[0])["status"] == "completed"
    return database.snapshot()


@pytest.mark.parametrize("parallel", [False, True], ids=["in-process", "worker-process"])
@pytest.mark.parametrize("stop_after", [1, 4, 7])
def test_cancel_then_resume_equals_uninterrupted(
    export: tuple[Path, SampleStats], reference: dict[str, Any], any_db: Any, parallel: bool, stop_after: int
) -> None:
    path, stats = export
    first = interrupted(any_db.url, path, stop_after, parallel)
    assert first["status"] == "cancelled"
    stored = any_db.count("messages")
    assert 0 < stored < stats.unique_messages
    second = ETLPipeline(any_db.url, parallel=parallel).run(path, resume=True)
    assert second["status"] == "completed", second["error"]
    assert second["resumed"] is True
    assert second["messages_skipped"] == first["messages"]
    assert second["messages"] == stats.messages - stats.without_id
    assert any_db.snapshot() == reference
    statuses = dict(any_db.query("SELECT id, status FROM etl_runs"))
    assert statuses == {first["run_id"]: "resumed", second["run_id"]: "completed"}
    assert any_db.one("SELECT resumed_from FROM etl_runs WHERE id = ?", (second["run_id"],)) == first["run_id"]
    # the resumed parse starts after the export's header; the run still names the export's user and date
    assert any_db.query("SELECT export_user_id, export_date FROM etl_runs WHERE id = ?", (second["run_id"],)) == [
        (USER_ID, "2025-04-30T18:22")
    ]
    # the skipped records are not reported twice
    assert any_db.one("SELECT count(*) FROM etl_errors WHERE error_type = 'MissingMessageId'") == stats.without_id


def test_resume_twice(export: tuple[Path, SampleStats], reference: dict[str, Any], db: Database) -> None:
    path, _ = export
    assert interrupted(db.url, path, 2, False)["status"] == "cancelled"
    pipeline = ETLPipeline(db.url, batch_size=250)
    context = pipeline.new_context()
    count = [0]
    context.subscribe("checkpoint", lambda c: (count.__setitem__(0, count[0] + 1), count[0] >= 4 and pipeline.cancel()))
    assert pipeline.run(path, resume=True, context=context)["status"] == "cancelled"
    final = ETLPipeline(db.url).run(path, resume=True)
    assert final["status"] == "completed" and final["resumed"]
    assert db.snapshot() == reference


@pytest.mark.parametrize("stop_after", [1, 4, 9])
def test_checkpoint_is_in_step_with_the_rows(export: tuple[Path, SampleStats], db: Database, stop_after: int) -> None:
    """The stored rows are exactly the entries before the checkpoint's position."""
    path, _ = export
    interrupted(db.url, path, stop_after, False)
    checkpoint = json.loads(db.one("SELECT checkpoint FROM etl_runs"))
    assert isinstance(checkpoint["byte_offset"], int) and "password" not in json.dumps(checkpoint)
    behind = set()
    for event in Extractor(path).events():
        if isinstance(event, MessageChunk):
            for n, entry in enumerate(event.entries, event.offset):
                if (event.index, n) < (checkpoint["conversation_index"], checkpoint["entries_done"]) and entry.get(
                    "id"
                ):
                    behind.add((event.conversation_id, entry["id"]))
    assert set(db.query("SELECT conversation_id, id FROM messages")) == behind


def test_nothing_to_resume_imports_in_full(
    export: tuple[Path, SampleStats], reference: dict[str, Any], db: Database
) -> None:
    summary = ETLPipeline(db.url).run(export[0], resume=True)
    assert summary["status"] == "completed" and summary["resumed"] is False and summary["messages_skipped"] == 0
    assert "nothing to resume" in summary["resume_note"]
    assert db.snapshot() == reference


def test_resume_against_a_changed_file_is_refused(tmp_path: Path, db: Database) -> None:
    path = tmp_path / "export.tar"
    write_sample(path, messages=3000, seed=1)
    assert interrupted(db.url, path, 2, False)["status"] == "cancelled"
    write_sample(path, messages=3000, seed=2)  # the same name, other content
    with pytest.raises(ExportError, match="changed since"):
        ETLPipeline(db.url).run(path, resume=True)


def test_completed_runs_are_not_resumed(export: tuple[Path, SampleStats], db: Database) -> None:
    ETLPipeline(db.url).run(export[0])
    again = ETLPipeline(db.url).run(export[0], resume=True)
    assert again["resumed"] is False


def test_pause_holds_without_writing(export: tuple[Path, SampleStats], db: Database) -> None:
    pipeline = ETLPipeline(db.url, batch_size=250)
    context = pipeline.new_context()
    paused = threading.Event()

    def on_checkpoint(_: Any) -> None:
        if not paused.is_set():
            pipeline.pause()
            paused.set()

    context.subscribe("checkpoint", on_checkpoint)
    result: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: result.update(pipeline.run(export[0], context=context)))
    worker.start()
    assert paused.wait(30) and pipeline.wait_until_holding(30)
    held = {Database(db.path).count("messages") for _ in range(3) if not threading.Event().wait(0.1)}
    assert len(held) == 1 and worker.is_alive()
    pipeline.resume()
    worker.join(60)
    assert result["status"] == "completed"


@pytest.mark.parametrize("at_the_byte", [True, False], ids=["at-the-byte", "parse-and-skip"])
def test_resume_after_a_conversation_whose_id_follows_its_messages(
    tmp_path: Path, db: Database, at_the_byte: bool
) -> None:
    late = {"MessageList": [message(str(i), "x" * 300) for i in range(400)], "id": "8:late", "displayName": "Late"}
    normal = conversation("8:a", [message(str(1000 + i), "y" * 300) for i in range(400)])
    path = write_export(tmp_path / "e.json", export_document([late, normal]))
    full = Database(tmp_path / "full.db")
    ETLPipeline(full.url).run(path)
    assert interrupted(db.url, path, 3, False, batch_size=100)["status"] == "cancelled"
    checkpoint = json.loads(db.one("SELECT checkpoint FROM etl_runs"))
    assert checkpoint["conversation_index"] == 1 and checkpoint["entries_done"] > 0
    if not at_the_byte:  # as a checkpoint without a byte offset would be
        checkpoint["byte_offset"] = None
        db.execute("UPDATE etl_runs SET checkpoint = ?", (json.dumps(checkpoint),))
    resumed = ETLPipeline(db.url).run(path, resume=True)
    assert resumed["status"] == "completed" and resumed["messages_skipped"] == checkpoint["messages"]
    assert db.snapshot() == full.snapshot()


@pytest.mark.parametrize("kind", ["json", "tar", "tar.gz"])
def test_a_change_the_quick_fingerprint_misses_is_refused(tmp_path: Path, db: Database, kind: str) -> None:
    """The fingerprint samples the head, middle and tail; a resume also checks every byte before its checkpoint."""
    from skype_etl_gui.etl.extract import fingerprint

    json_path = tmp_path / "messages.json"
    write_sample(json_path, messages=40_000, seed=24)
    data = json_path.read_bytes()
    path = write_export(tmp_path / f"export.{kind}", data, kind=kind)
    cancelled = interrupted(db.url, path, 14, parallel=False, batch_size=1000)
    checkpoint = json.loads(db.one("SELECT checkpoint FROM etl_runs WHERE id = ?", (cancelled["run_id"],)))
    offset = checkpoint["byte_offset"]
    assert checkpoint["content_hash"] and offset > 3 * 2**20
    # one letter, before the checkpoint and outside the three sampled MiB
    at = data.index(b"coffee", 2**20 + 1024)
    assert at < min(offset, len(data) // 2 - 2**19)
    changed = data[:at] + b"C" + data[at + 1 :]
    before = fingerprint(path)
    write_export(path, changed, kind=kind)
    if kind == "json":
        assert fingerprint(path) == before, "the quick fingerprint does not see it"
    runs = db.count("etl_runs")
    with pytest.raises(ExportError, match="cannot be resumed"):
        ETLPipeline(db.url, parallel=False).run(path, resume=True)
    assert db.count("etl_runs") == runs, "nothing was written"
    write_export(path, data, kind=kind)  # the export as it was: the resume goes on, and checks out
    again = ETLPipeline(db.url).run(path, resume=True)
    assert again["status"] == "completed" and again["resumed"]
