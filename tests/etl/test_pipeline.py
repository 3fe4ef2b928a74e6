"""Whole imports into real SQLite databases."""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from skype_etl_gui.etl import DatabaseError, ETLPipeline, ExportError
from skype_etl_gui.etl.urls import DatabaseUrlError
from skype_etl_gui.sample import SampleStats, write_sample
from tests.conftest import Database, conversation, export_document, message, write_export


@pytest.mark.parametrize("parallel", [False, True], ids=["in-process", "worker-process"])
def test_sample_import_counts(small_sample: tuple[Path, SampleStats], db: Database, parallel: bool) -> None:
    path, stats = small_sample
    summary = ETLPipeline(db.url, batch_size=500, parallel=parallel).run(path)
    assert summary["status"] == "completed"
    assert summary["conversations"] == stats.conversations
    assert db.count("conversations") == stats.conversations
    assert db.count("messages") == stats.unique_messages
    assert summary["messages"] == stats.messages - stats.without_id
    assert db.one("SELECT count(*) FROM etl_errors WHERE error_type = 'MissingMessageId'") == stats.without_id
    # the sample's media: some files are in it, the others expired (a warning each, the attachment kept)
    missing = db.one("SELECT count(*) FROM attachments WHERE doc_id IS NOT NULL AND sha256 IS NULL")
    assert db.one("SELECT count(*) FROM etl_errors WHERE error_type = 'MediaMissing'") == missing > 0
    assert summary["media"]["files"] == stats.media_files
    assert db.count("media_files") == 1  # the sample's files are all the same 1-pixel PNG: stored once
    orphans = db.one("SELECT count(*) FROM etl_errors WHERE error_type = 'MediaOrphan'")  # of skipped messages
    assert summary["errors"] == stats.without_id + missing + orphans
    assert db.count("attachments") > 0 and db.count("participants") > 0
    run = db.query("SELECT status, messages, conversations, errors, telemetry, checkpoint FROM etl_runs")
    assert len(run) == 1
    status, messages, conversations, errors, telemetry, checkpoint = run[0]
    assert (status, messages, conversations, errors) == (
        "completed",
        summary["messages"],
        stats.conversations,
        stats.without_id + missing + orphans,
    )
    telemetry = json.loads(telemetry)
    assert telemetry["parallel"] is parallel
    assert set(telemetry["phases"]) == {"extract", "transform", "load"}
    assert telemetry["memory_peak_mb"] > 0
    assert json.loads(checkpoint)["conversation_index"] == stats.conversations


def test_worker_and_in_process_give_the_same_tables(small_sample: tuple[Path, SampleStats], tmp_path: Path) -> None:
    path, _ = small_sample
    one, two = Database(tmp_path / "one.db"), Database(tmp_path / "two.db")
    ETLPipeline(one.url, batch_size=300, parallel=False).run(path)
    ETLPipeline(two.url, batch_size=700, parallel=True).run(path)
    assert one.snapshot() == two.snapshot()
    # the worker leaves a person's RichText with markup to the importing process: the same rows and errors
    errors = "SELECT phase, severity, error_type, conversation_id, message_id FROM etl_errors ORDER BY 4, 5, 3"
    assert one.query(errors) == two.query(errors)


def test_a_batch_crosses_the_pipe_whole_and_is_read_a_slice_at_a_time() -> None:
    """Unpickling holds the interpreter lock: the importing process takes a batch's long lists in slices."""
    import io
    import pickle

    from skype_etl_gui.etl.records import Batch, ErrorRecord
    from skype_etl_gui.etl.run.ipc import SLICE_ROWS, frame, read_frame

    batch = Batch(
        messages=[("o", "c", str(n), f"text {n}", None) for n in range(2 * SLICE_ROWS + 1)],
        errors=[ErrorRecord("transform", "warning", "BadMarkup", "m", "c", str(n)) for n in range(3)],
        tally={("o", "c"): [1001, 1001, 0]},
        messages_done=1001,
    )
    data = frame(batch)
    outer = pickle.loads(data[8:])
    assert [len(pickle.loads(piece)) for piece in outer.messages.pickles] == [SLICE_ROWS, SLICE_ROWS, 1]
    assert isinstance(outer.errors, list)  # short lists travel as they are
    stream = io.BytesIO(data + frame(Batch(final=True)))
    assert read_frame(stream) == batch and batch.messages and read_frame(stream).final
    assert read_frame(stream) is None


def test_a_worker_that_dies_fails_the_run_saying_how(
    small_sample: tuple[Path, SampleStats], db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reading process ends without a word: the run fails with its exit code and the last line it wrote."""
    import sys

    from skype_etl_gui.etl.run import pipeline

    script = "import sys; sys.stdin.readline(); print('no room for the parser', file=sys.stderr); sys.exit(5)"
    monkeypatch.setattr(pipeline, "WORKER_COMMAND", [sys.executable, "-c", script])
    summary = ETLPipeline(db.url, parallel=True).run(small_sample[0])
    assert summary["status"] == "failed"
    assert "the reading process stopped unexpectedly (exit code 5): no room for the parser" in summary["error"]


def test_a_deferred_reading_is_the_same_reading(tmp_path: Path) -> None:
    """Transformer.defer then complete() (as the worker and the importer do) against reading at once."""
    from skype_etl_gui.etl import ETLContext, Transformer
    from skype_etl_gui.etl.transform.rows import DEFERRED

    entries = [
        message("1", 'Hi <at id="8:bob">Bob</at> &amp; <b>all</b>'),
        message("2", "<e_m ts_ms='1600000000000'/>"),
        message("3", "plain", properties={"emotions": [{"key": "heart", "users": [{"mri": "8:bob", "time": 1}]}]}),
        message("4", '<quote author="8:bob" messageid="1">x</quote>y', **{"from": "19:t@thread.skype"}),
        message("5", "<URIObject type='Video.1' uri='https://x/objects/0-a'/>", "RichText/Media_Video"),
    ]
    at_once, later = Transformer(ETLContext(run_id="r")), Transformer(ETLContext(run_id="r"))
    later.defer = True
    expected = at_once.messages("8:anna", entries)
    rows = later.messages("8:anna", entries)
    assert rows.deferred == 4 and sum(row[7] == DEFERRED for row in rows.messages) == 4  # not the video
    rows.messages = later.complete(rows.messages, rows)
    assert rows.messages == expected.messages
    for table in ("attachments", "reactions", "mentions"):
        assert sorted(getattr(rows, table)) == sorted(getattr(expected, table)), table
    assert {p[:3] for p in rows.participants} == {p[:3] for p in expected.participants}


@pytest.mark.parametrize("kind", ["json", "tar", "tar.gz"])
def test_every_input_kind(tmp_path: Path, db: Database, kind: str) -> None:
    path = tmp_path / f"export.{kind}"
    stats = write_sample(path, messages=400, seed=3)
    summary = ETLPipeline(db.url).run(path)
    assert summary["status"] == "completed"
    assert db.count("messages") == stats.unique_messages


def test_reimport_changes_nothing(small_sample: tuple[Path, SampleStats], db: Database) -> None:
    path, _ = small_sample
    ETLPipeline(db.url).run(path)
    before = db.snapshot()
    summary = ETLPipeline(db.url).run(path)
    assert summary["status"] == "completed"
    assert db.snapshot() == before
    assert db.count("etl_runs") == 2


def test_highest_version_wins_and_later_wins_a_tie(tmp_path: Path, db: Database) -> None:
    messages = [
        message("1", "v2", version=2),
        message("1", "v3", version=3),
        message("1", "v1 arrives late", version=1),
        message("2", "first of a tie", version=5),
        message("2", "second of a tie", version=5),
    ]
    path = write_export(tmp_path / "e.json", export_document([conversation("8:anna", messages)]))
    ETLPipeline(db.url, batch_size=1).run(path)  # each entry its own transaction
    assert db.query("SELECT id, content_raw FROM messages ORDER BY id") == [("1", "v3"), ("2", "second of a tie")]


def test_edge_cases_of_real_exports(tmp_path: Path, db: Database) -> None:
    group = conversation(
        "19:abc@thread.skype",
        [
            message("10", "", properties={"deletetime": "1594056032575"}),
            message(
                "11", "edited", properties={"edittime": "1594056032575", "emotions": [{"key": "heart", "users": []}]}
            ),
            message("12", "x" * 200_000),
            message(
                "13",
                "<topicupdate><initiator>8:me</initiator><value>T</value></topicupdate>",
                "ThreadActivity/TopicUpdate",
                **{"from": "19:abc@thread.skype"},
            ),
            message("14", "null name", displayName=None, amsreferences=["0-weu-d3-x"]),
            message("15", "fraction", originalarrivaltime="2020-09-13T12:26:40.1234567Z"),
            message("16", "no fraction", originalarrivaltime="2020-09-13T12:26:40Z"),
        ],
        displayName=None,
        threadProperties={
            "membercount": 3,
            "topic": "T",
            "members": json.dumps([{"MemberMri": "8:me"}, {"MemberMri": "8:anna"}]),
        },
    )
    others = [
        conversation("8:live:.cid.0123abcd", [message("20")], properties=None),
        conversation("99:unknown-prefix", [message("30", "hi", "Brand/NewType")]),
        conversation("8:silent", []),
        conversation("48:calllogs", None),
    ]
    path = write_export(tmp_path / "e.tar", export_document([group, *others]), "tar")
    summary = ETLPipeline(db.url).run(path)
    assert summary["status"] == "completed" and summary["errors"] == 0
    assert db.count("conversations") == 5
    assert dict(db.query("SELECT id, kind FROM conversations")) == {
        "19:abc@thread.skype": "group",
        "8:live:.cid.0123abcd": "one_to_one",
        "99:unknown-prefix": "other",
        "8:silent": "one_to_one",
        "48:calllogs": "special",
    }
    rows = {
        r[0]: r[1:]
        for r in db.query(
            "SELECT id, content_text, deleted_at, edited_at, sent_at, sender_name, length(content_raw) FROM messages"
        )
    }
    assert rows["10"][:2] == ("", "2020-07-06T17:20:32.575Z")
    assert rows["11"][2] == "2020-07-06T17:20:32.575Z"
    assert rows["12"][5] == 200_000
    assert rows["13"][0] == '8:me changed the topic to "T"'
    assert rows["14"][4] is None
    assert rows["15"][3] == "2020-09-13T12:26:40.123Z" and rows["16"][3] == "2020-09-13T12:26:40.000Z"
    assert db.one("SELECT message_type FROM messages WHERE id = '30'") == "Brand/NewType"
    members = {
        r[0] for r in db.query("SELECT participant_id FROM participants WHERE conversation_id = '19:abc@thread.skype'")
    }
    assert members == {"8:me", "8:anna"}  # the thread is never a participant of itself
    assert db.query("SELECT sender_id, sender_raw FROM messages WHERE id = '13'") == [("8:me", "19:abc@thread.skype")]


def test_bad_records_become_error_rows_and_the_run_goes_on(tmp_path: Path, db: Database) -> None:
    messages = [
        message("1"),
        42,
        message(None),
        message("2", content={"not": "text"}),
        message("3", originalarrivaltime="soon"),
    ]
    convs = [
        conversation("8:anna", messages),
        conversation(None, [message("9")]),
        conversation("8:bob", [message("4")]),
    ]
    path = write_export(tmp_path / "bad.json", export_document(convs))
    summary = ETLPipeline(db.url).run(path)
    assert summary["status"] == "completed"
    assert db.query("SELECT id FROM messages ORDER BY id") == [("1",), ("2",), ("3",), ("4",)]
    errors = db.query("SELECT severity, error_type, conversation_id FROM etl_errors ORDER BY id")
    assert sorted(errors) == sorted(
        [
            ("error", "InvalidMessage", "8:anna"),
            ("error", "MissingMessageId", "8:anna"),
            ("warning", "NonStringContent", "8:anna"),
            ("warning", "InvalidTimestamp", "8:anna"),
            ("error", "MissingConversationId", None),
        ]
    )
    assert db.one("SELECT sent_at FROM messages WHERE id = '3'") is None
    assert db.one("SELECT errors FROM etl_runs") == 5


def test_rejected_input_writes_nothing(tmp_path: Path, db: Database) -> None:
    path = tmp_path / "not-an-export.tar"
    path.write_bytes(b"hello")
    with pytest.raises(ExportError):
        ETLPipeline(db.url).run(path)
    assert not db.exists()


def test_missing_conversations_writes_no_run(tmp_path: Path, db: Database) -> None:
    path = write_export(tmp_path / "e.json", {"userId": "x"})
    with pytest.raises(ExportError, match="conversations"):
        ETLPipeline(db.url).run(path)
    assert db.count("etl_runs") == 0 and db.count("messages") == 0


def test_truncated_export_keeps_what_came_before(tmp_path: Path, db: Database) -> None:
    full = tmp_path / "full.json"
    stats = write_sample(full, messages=3000, seed=5)
    cut = tmp_path / "cut.json"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size * 2 // 3])
    summary = ETLPipeline(db.url, batch_size=200).run(cut)
    assert summary["status"] == "failed" and "truncated" in summary["error"]
    kept = db.count("messages")
    assert kept > 0
    assert db.one("SELECT status FROM etl_runs") == "failed"
    assert db.one("SELECT count(*) FROM etl_errors WHERE severity = 'fatal'") == 1
    summary = ETLPipeline(db.url).run(full)
    assert summary["status"] == "completed" and db.count("messages") == stats.unique_messages


def test_bad_database_urls() -> None:
    for url in ("", "mysql://x/y", "sqlite://host/x.db", "nonsense"):
        with pytest.raises(DatabaseUrlError):
            ETLPipeline(url)


def test_a_database_as_the_window_names_it() -> None:
    """A local database by its file; a server by its URL, without its password."""
    from skype_etl_gui.etl.urls import database_text, parse_database_url

    assert database_text("sqlite:////home/me/archive.db") == "/home/me/archive.db"
    assert database_text("sqlite:///relative.db") == "relative.db"
    pg = parse_database_url("postgresql://me:secret@host:5433/skype").display
    assert database_text(pg) == pg and "secret" not in pg and pg.startswith("postgresql://me:")
    assert database_text("sqlite://host/x.db") == "sqlite://host/x.db"  # not a URL this program makes: as it is


def test_unwritable_database(tmp_path: Path, small_sample: tuple[Path, SampleStats]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DatabaseError):
        ETLPipeline(f"sqlite:///{blocker}/sub/x.db").run(small_sample[0])
    not_sqlite = tmp_path / "text.db"
    not_sqlite.write_text("this is not a database " * 100)
    with pytest.raises(DatabaseError, match="not a usable SQLite database"):
        ETLPipeline(f"sqlite:///{not_sqlite}").run(small_sample[0])


def test_memory_limit_shrinks_batches(small_sample: tuple[Path, SampleStats], db: Database) -> None:
    from skype_etl_gui.etl import ETLContext

    near_from_the_start = ETLContext(memory_limit_mb=20_000, memory_warning_ratio=0.0)
    summary = ETLPipeline(db.url, batch_size=2000).run(small_sample[0], context=near_from_the_start)
    assert summary["status"] == "completed"
    assert summary["telemetry"]["batch_size_final"] < 2000
    assert db.one("SELECT count(*) FROM etl_errors WHERE error_type = 'MemoryNearLimit' AND severity = 'warning'") == 1


@pytest.mark.parametrize("parallel", [False, True], ids=["in-process", "worker-process"])
def test_past_the_memory_limit_the_run_stops_failed_and_resumable(tmp_path: Path, db: Database, parallel: bool) -> None:
    """One record too big for the limit: the run stops itself (the system never has to), names where, resumes."""
    import psutil

    path = tmp_path / "e.json"
    document = json.dumps(
        export_document(
            [conversation("8:small", [message("1")]), conversation("8:big", [message("0"), message("big")])]
        )
    )
    head, _, tail = document.rpartition('"content": "hello"')  # the last message's content: 60 MB, written in pieces
    with path.open("w") as out:
        out.write(head + '"content": "')
        for _ in range(60):
            out.write("x" * 1_000_000)
        out.write('"' + tail)
    limit = psutil.Process().memory_info().rss / 2**20 + 100  # this process imports too (in-process)
    summary = ETLPipeline(db.url, batch_size=1, memory_limit_mb=limit, parallel=parallel).run(path)
    assert summary["status"] == "failed"
    assert "memory use reached" in summary["error"] and f"limit of {limit:,.0f} MB" in summary["error"]
    # the watch samples: it sees the big message while it is read (after #1), or, on a busy machine, just after
    assert re.search(r"conversation 8:big \(#2\), after its message #[12];", summary["error"]), summary["error"]
    assert summary["telemetry"]["memory_peak_mb"] < limit + 400
    assert db.one("SELECT error_type FROM etl_errors WHERE severity = 'fatal'") == "MemoryLimit"
    again = ETLPipeline(db.url, memory_limit_mb=4096, parallel=parallel).run(path, resume=True)
    assert again["status"] == "completed" and again["resumed"]
    assert db.one("SELECT length(content_raw) FROM messages WHERE id = 'big'") == 60_000_000


@pytest.mark.parametrize("parallel", [False, True], ids=["in-process", "worker-process"])
def test_pause_holds_and_cancel_stops(tmp_path: Path, db: Database, parallel: bool) -> None:
    path = tmp_path / "e.tar"
    write_sample(path, messages=6000, seed=9)
    pipeline = ETLPipeline(db.url, batch_size=500, parallel=parallel)
    context = pipeline.new_context()
    first_checkpoint = threading.Event()
    context.subscribe("checkpoint", lambda _: (pipeline.pause(), first_checkpoint.set()))
    result: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: result.update(pipeline.run(path, context=context)))
    worker.start()
    assert first_checkpoint.wait(30)
    # paused after the first batch: the count stays put while we look
    counts = set()
    for _ in range(5):
        threading.Event().wait(0.05)
        counts.add(Database(db.path).count("messages"))
    assert len(counts) == 1 and pipeline.paused
    pipeline.cancel()
    worker.join(30)
    assert result["status"] == "cancelled"
    assert 0 < db.count("messages") < 6000
    assert db.one("SELECT status FROM etl_runs") == "cancelled"


def test_a_busy_sqlite_database_is_waited_for(small_sample: tuple[Path, SampleStats], db: Database) -> None:
    """Another process holds the write lock past SQLite's own 5 s wait: the batch is tried again, not failed."""
    import sqlite3

    pipeline = ETLPipeline(db.url, batch_size=500, parallel=False)
    context = pipeline.new_context()
    held = threading.Event()

    def hold_the_lock() -> None:
        other = sqlite3.connect(db.path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        held.set()
        time.sleep(6.5)
        other.execute("COMMIT")
        other.close()

    def on_checkpoint(checkpoint: dict[str, Any]) -> None:
        if not held.is_set() and checkpoint.get("messages", 0) >= 500:
            threading.Thread(target=hold_the_lock, daemon=True).start()
            held.wait(5)

    context.subscribe("checkpoint", on_checkpoint)
    summary = pipeline.run(small_sample[0], context=context)
    assert summary["status"] == "completed", summary["error"]
    # another process's transaction is waited for, not taken for a lost database
    assert db.one("SELECT count(*) FROM etl_errors WHERE error_type = 'ConnectionLost'") == 0
    assert db.count("messages") == small_sample[1].unique_messages


@pytest.mark.parametrize("order", ["older first", "newer first"])
def test_a_message_stored_twice_keeps_only_its_winning_version_s_rows(tmp_path: Path, any_db: Any, order: str) -> None:
    """Two versions of one message in different batches: the losing one's mention and quote link go."""
    older = message("5", '<at id="8:bob">Bob</at> <quote messageid="1">x</quote>', version=1)
    newer = message("5", "edited, without the mention", version=2)
    filler = [message(str(n), "filler") for n in range(10, 30)]
    pair = [older, newer] if order == "older first" else [newer, older]
    entries = [message("1", "quoted"), pair[0], *filler, pair[1]]
    path = write_export(tmp_path / "twice.json", export_document([conversation("8:anna", entries)]))
    summary = ETLPipeline(any_db.url, batch_size=5).run(path)
    assert summary["status"] == "completed"
    assert any_db.query("SELECT content_text, reply_to FROM messages WHERE id = '5'") == [
        ("edited, without the mention", None)
    ]
    assert any_db.count("mentions") == 0


def test_too_many_noted_messages_fall_back_to_looking_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past MAX_NOTED_KEYS the import's end reads every event and links every quote: the same tables."""
    from skype_etl_gui.etl.run import pipeline
    from tests.etl.test_markup_forms import DOC

    path = write_export(tmp_path / "forms.json", DOC)
    noted, everything = Database(tmp_path / "noted.db"), Database(tmp_path / "all.db")
    ETLPipeline(noted.url, parallel=False).run(path)
    monkeypatch.setattr(pipeline, "MAX_NOTED_KEYS", 0)
    ETLPipeline(everything.url, parallel=False).run(path)
    assert noted.snapshot() == everything.snapshot()
    assert everything.query("SELECT id, reply_to FROM messages WHERE reply_to IS NOT NULL") == [("115", "109")]
    assert everything.one("SELECT content_text FROM messages WHERE id = '101'") == "Anna added Bob Builder"
