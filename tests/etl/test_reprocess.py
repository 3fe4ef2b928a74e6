"""`reprocess` turns an archive of release 0.1.0 into what a fresh import makes today, on both databases."""

from __future__ import annotations

import json
import shutil
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import psutil
import pytest

from skype_etl_gui.cli import main
from skype_etl_gui.etl import ETLPipeline
from skype_etl_gui.etl.errors import DatabaseError
from skype_etl_gui.etl.load import open_existing
from skype_etl_gui.etl.load.base import PLAIN_STORED
from skype_etl_gui.etl.run import reprocess as reprocessing
from skype_etl_gui.etl.run.reprocess import Reprocess, ReprocessProgress
from tests.conftest import SNAPSHOT_ORDER, conversation, export_document, message, write_export

V010 = Path(__file__).resolve().parent.parent / "data" / "v0.1.0"
EXPORTS = ("export-a.tar", "export-b.json")  # in the order archive.db was made


def reprocess(url: str, **options: Any) -> dict[str, Any]:
    loader = open_existing(url)
    try:
        return Reprocess(loader, **options).run()
    finally:
        loader.close()


def stopped_after(url: str, pages: int, **options: Any) -> tuple[dict[str, Any], list[ReprocessProgress], Any]:
    """A reprocess cancelled once it has reported `pages` times: its summary, its reports, and its (closed) loader."""
    seen: list[ReprocessProgress] = []
    loader = open_existing(url)
    try:
        job = Reprocess(loader, **options)

        def stop(progress: ReprocessProgress) -> None:
            seen.append(progress)
            if len(seen) == pages:
                job.cancel()

        job.on_progress = stop
        return job.run(), seen, loader
    finally:
        loader.close()


def resumed_to_a_fresh_import(old_archive: Any, fresh: Any) -> None:
    """The stopped reprocess continued (in deriving processes) to the end, with a fresh import's rows."""
    done = reprocess(old_archive.url, page=50, worker=True)
    assert (done["status"], done["resumed"], done["messages"]) == ("completed", True, 399)
    assert_same_tables(apart(old_archive.snapshot()), apart(fresh.snapshot()))


def checkpoint_of(db: Any, run_id: str) -> dict[str, Any]:
    checkpoint = db.one("SELECT checkpoint FROM etl_runs WHERE id = ?", (run_id,))
    return checkpoint if isinstance(checkpoint, dict) else json.loads(checkpoint)  # PostgreSQL's jsonb is parsed


def fresh_import(db: Any) -> None:
    for export in EXPORTS:
        assert ETLPipeline(db.url).run(str(V010 / export))["status"] == "completed"


def assert_same_tables(got: dict[str, list[Any]], wanted: dict[str, list[Any]]) -> None:
    assert list(got) == list(SNAPSHOT_ORDER)
    for table in SNAPSHOT_ORDER:  # one table at a time, so a failure names it
        assert got[table] == wanted[table], table


MIXED = "8:live:anna.tamm"  # 0.1.0 stored A's and B's chats with Anna as one conversation


def apart(snapshot: dict[str, list[Any]], conversation: str = MIXED) -> dict[str, list[Any]]:
    """Every table's rows but those of one conversation (its id is each row's first value), and the attachments
    without their stored file (0.1.0 stored none, and a reprocess has no export to read them from)."""
    rows = {table: [row for row in rows if row[0] != conversation] for table, rows in snapshot.items()}
    rows["attachments"] = [row[:-1] for row in rows["attachments"]]  # sha256 is the last column
    return rows


@pytest.mark.parametrize("worker", [False, True], ids=["here", "in-a-worker"])
def test_reprocess_makes_the_rows_of_a_fresh_import(old_archive: Any, any_db: Any, worker: bool) -> None:
    """In this process, and with the messages read and derived by a process of their own (as a large archive is)."""
    summary = reprocess(old_archive.url, worker=worker)
    assert summary["status"] == "completed", summary["error"]
    assert summary["messages"] == 399
    assert summary["changed"] > 0  # release 0.1.0 read much of the markup wrongly
    fresh_import(any_db)
    # the chat 0.1.0 mixed stays as it was, under A (its first import), with a warning; the rest is a fresh import's
    assert_same_tables(apart(old_archive.snapshot()), apart(any_db.snapshot()))
    owners = "SELECT owner_id, count(*) FROM messages WHERE conversation_id = '8:live:anna.tamm' GROUP BY owner_id"
    assert old_archive.query(owners) == [("8:live:.cid.5a1b2c3d4e5f6a7b", 28)]  # 27 of A, 1 of B (and 2 lost)
    assert sorted(any_db.query(owners)) == [("8:live:.cid.5a1b2c3d4e5f6a7b", 27), ("8:live:bob.other", 3)]
    assert old_archive.query("SELECT conversation_id FROM etl_errors WHERE error_type = 'MixedOwners'") == [(MIXED,)]
    # what 0.1.0 got wrong, now right: the thread is no participant, and its events name who did them
    assert old_archive.one("SELECT count(*) FROM participants WHERE substr(participant_id, 1, 3) = '19:'") == 0
    assert old_archive.one("SELECT count(*) FROM messages WHERE substr(sender_id, 1, 3) = '19:'") == 0
    assert old_archive.one("SELECT count(*) FROM messages WHERE substr(sender_raw, 1, 3) = '19:'") > 0
    runs = old_archive.query("SELECT kind, status, messages FROM etl_runs WHERE kind = 'reprocess'")
    assert runs == [("reprocess", "completed", 399)]
    # a second reprocess finds nothing to change
    again = reprocess(old_archive.url)
    assert (again["status"], again["changed"], again["resumed"]) == ("completed", 0, False)


@pytest.mark.parametrize("worker", [False, True], ids=["here", "in-a-worker"])
def test_a_stopped_reprocess_continues_where_it_stopped(old_archive: Any, any_db: Any, worker: bool) -> None:
    fresh_import(any_db)
    first, seen, _ = stopped_after(old_archive.url, 2, page=50, worker=worker)
    assert first["status"] == "cancelled"
    assert first["messages"] == 100
    assert psutil.Process().children() == []  # a deriving process is stopped with the run
    assert [p.stage for p in seen] == ["messages", "messages"]
    assert 0 < seen[-1].percent < 80
    second = reprocess(old_archive.url, page=50, worker=worker)
    assert second["status"] == "completed"
    assert second["resumed"] is True
    assert second["messages"] == 399  # counted over both runs
    assert old_archive.query("SELECT status FROM etl_runs WHERE id = ?", (first["run_id"],)) == [("resumed",)]
    assert_same_tables(apart(old_archive.snapshot()), apart(any_db.snapshot()))


def test_a_failing_page_leaves_a_resumable_run(old_archive: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    real = reprocessing.Rederiver._rederive
    calls = []

    def fails_on_the_second_page(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the disk went away")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(reprocessing.Rederiver, "_rederive", fails_on_the_second_page)
    failed = reprocess(old_archive.url, page=100)
    assert failed["status"] == "failed"
    assert "the disk went away" in failed["error"]
    assert (
        old_archive.one("SELECT count(*) FROM etl_errors WHERE run_id = ? AND severity = 'fatal'", (failed["run_id"],))
        == 1
    )
    monkeypatch.setattr(reprocessing.Rederiver, "_rederive", real)
    done = reprocess(old_archive.url, page=100)
    assert (done["status"], done["resumed"]) == ("completed", True)


def test_a_deriving_process_that_dies_leaves_a_resumable_run(
    old_archive: Any, any_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh_import(any_db)
    monkeypatch.setattr(reprocessing, "REDERIVE_COMMAND", [sys.executable, "-c", "import sys; sys.exit(3)"])
    failed = reprocess(old_archive.url, page=50, worker=True)
    assert failed["status"] == "failed"
    assert "the deriving process stopped unexpectedly (exit code 3)" in failed["error"]
    monkeypatch.undo()
    resumed_to_a_fresh_import(old_archive, any_db)


def test_senders_summed_up_beside_the_messages_stage(any_db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """When few texts change, who sent what is summed up by a connection of its own while the messages are
    derived; a conversation the messages stage rewrote a message of is summed up again after it, so a sender it
    corrected is never taken from the earlier sum. The result is a fresh import's."""
    from skype_etl_gui.etl.load.base import Loader

    fresh_import(any_db)
    wanted = any_db.snapshot()
    last = "SELECT owner_id, conversation_id, id FROM messages ORDER BY owner_id DESC, conversation_id DESC, id DESC"
    owner, conv, msg = any_db.query(last)[0]  # derived in the last page: after the sum was read
    any_db.execute(
        "UPDATE messages SET sender_id = 'x:wrong' WHERE owner_id = ? AND conversation_id = ? AND id = ?",
        (owner, conv, msg),
    )
    first = any_db.query("SELECT owner_id, id FROM conversations ORDER BY owner_id, id")[0]
    any_db.execute("DELETE FROM participants WHERE owner_id = ? AND conversation_id = ?", first)

    class AtOnce(reprocessing._Ahead):  # type: ignore[type-arg]
        """Read when asked, not beside: the sum is then surely older than the last page's rewrite."""

        def __init__(self, target: Any, read: Any) -> None:
            super().__init__(target, lambda reader: None)  # its thread reads nothing
            self.result()
            self._read(target, read)

    asked: list[Any] = []
    senders_of = Loader.senders_of

    def spy(self: Loader, conversations: Any) -> Any:
        asked.append(None if conversations is None else sorted(conversations))
        return senders_of(self, conversations)

    monkeypatch.setattr(reprocessing, "_Ahead", AtOnce)
    monkeypatch.setattr(Loader, "senders_of", spy)
    summary = reprocess(any_db.url, page=50, worker=True)
    assert summary["status"] == "completed", summary["error"]
    assert asked == [None, [(owner, conv)]]  # all beside the messages, then the one conversation they changed
    assert_same_tables(any_db.snapshot(), wanted)


def test_a_read_ahead_is_interrupted_when_the_run_stops(any_db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stopped run leaves no read running on a connection of its own: the statement is interrupted where it
    is (here one that would never end), and the run's cancel returns at once."""
    import time

    fresh_import(any_db)
    endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
    loader = open_existing(any_db.url)
    try:
        ahead = reprocessing._Ahead(loader.target, lambda reader: reader._select(endless))
        time.sleep(0.3)  # well inside its statement
        started = time.monotonic()
        ahead.cancel()
        assert time.monotonic() - started < 2
        assert ahead.result() is None  # the caller would read it itself, were the run going on
        ahead.cancel()  # ended already: nothing to do

        # the run's own: the senders' sum started beside the messages stage, and the run cancelled before the
        # participants stage took it
        started_reads: list[Any] = []
        real = reprocessing._Ahead

        def endless_sum(target: Any, read: Any) -> Any:
            started_reads.append(read)
            return real(target, (lambda reader: reader._select(endless)) if len(started_reads) == 2 else read)

        monkeypatch.setattr(reprocessing, "_Ahead", endless_sum)
        any_db.execute("UPDATE messages SET content_text = 'x' WHERE id = (SELECT min(id) FROM messages)")
        job = Reprocess(loader, page=50, worker=True)

        def stop_at_the_participants(progress: ReprocessProgress) -> None:
            if progress.stage == "participants" or progress.done == progress.total:
                job.cancel()

        job.on_progress = stop_at_the_participants
        started = time.monotonic()
        summary = job.run()
        assert summary["status"] == "cancelled"
        assert len(started_reads) == 2  # the count of what to derive, then the sum
        assert time.monotonic() - started < 20
        assert not [t for t in threading.enumerate() if t.name == "reprocess-ahead"]
    finally:
        loader.close()


def test_a_failure_in_the_deriving_process_is_the_runs_failure(
    old_archive: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its exception comes back as the run's error, with the page it failed on left to the resume."""
    script = (
        f"import sys; sys.path.insert(0, {str(V010.parents[2])!r})\n"
        "import skype_etl_gui.etl.run.reprocess as r\n"
        "def boom(*args, **kwargs):\n"
        "    raise ValueError('a message no derive can read')\n"
        "r.derive = boom\n"
        "r.worker_main()\n"
    )
    monkeypatch.setattr(reprocessing, "REDERIVE_COMMAND", [sys.executable, "-c", script])
    failed = reprocess(old_archive.url, page=50, worker=True)
    assert (failed["status"], failed["messages"]) == ("failed", 0)
    assert "a message no derive can read" in failed["error"]
    assert old_archive.one("SELECT count(*) FROM etl_errors WHERE severity = 'fatal'") == 1
    monkeypatch.undo()
    done = reprocess(old_archive.url, page=50, worker=True)
    assert (done["status"], done["resumed"]) == ("completed", True)


def test_reprocess_refuses_what_is_not_an_archive(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="no such database"):
        open_existing(f"sqlite:///{tmp_path / 'missing.db'}")
    assert not (tmp_path / "missing.db").exists()  # never made by asking
    stranger = tmp_path / "stranger.db"
    import sqlite3

    sqlite3.connect(stranger).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(DatabaseError, match="not an archive"):
        open_existing(f"sqlite:///{stranger}")


# --- the command ------------------------------------------------------------------------------------
def test_the_command_reprocesses_and_says_what_changed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(V010 / "archive.db", tmp_path / "old.db")
    url = f"sqlite:///{tmp_path / 'old.db'}"
    assert main(["reprocess", "--db", url, "--json"]) == 0
    out, err = capsys.readouterr()
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["status"] == "completed"
    assert summary["messages"] == 399
    assert "Reprocessed 399 messages" in err
    assert "progress: 100.0%" in err
    assert main(["runs", "--db", url]) == 0
    out, _ = capsys.readouterr()
    assert "reprocess: 399 messages looked at" in out.splitlines()[0]
    assert main(["runs", "--db", url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["kind"] == "reprocess"


def test_the_command_with_no_archive_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reprocess", "--db", f"sqlite:///{tmp_path / 'none.db'}"]) == 2
    assert "no such database" in capsys.readouterr().err
    assert not (tmp_path / "none.db").exists()


def test_ctrl_c_stops_the_command_with_130_and_it_continues_later(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(V010 / "archive.db", tmp_path / "old.db")
    url = f"sqlite:///{tmp_path / 'old.db'}"
    monkeypatch.setattr(reprocessing, "PAGE", 50)
    monkeypatch.setattr(Reprocess.__init__, "__defaults__", (None, 50, None))
    real = reprocessing.Rederiver._report

    def interrupt(self: Any, *args: Any) -> None:
        real(self, *args)
        signal.raise_signal(signal.SIGINT)  # as a person pressing Ctrl+C

    monkeypatch.setattr(reprocessing.Rederiver, "_report", interrupt)
    assert main(["reprocess", "--db", url, "--quiet"]) == 130
    assert "reprocess stopped after 50 messages" not in capsys.readouterr().err  # --quiet says nothing
    monkeypatch.setattr(reprocessing.Rederiver, "_report", real)
    assert main(["reprocess", "--db", url, "--json", "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (summary["status"], summary["resumed"], summary["messages"]) == ("completed", True, 399)


def test_the_messages_are_cut_into_runs_of_about_as_many_each(any_db: Any) -> None:
    """Each deriving process takes a run of keys; the cuts fall inside a conversation too, and after a key."""
    fresh_import(any_db)
    loader = open_existing(any_db.url)
    try:
        ordered = [tuple(row) for row in loader.select(ORDERED)]
        for parts in (2, 3, 4):
            cuts = loader.split_keys(None, parts)
            assert len(cuts) == parts - 1
            at = [ordered.index(cut) for cut in cuts]
            sizes = [b - a for a, b in zip([-1, *at], [*at, len(ordered) - 1], strict=True)]
            assert max(sizes) - min(sizes) <= 1, sizes
        after = ordered[100]
        cuts = loader.split_keys(list(after), 2)
        left = len(ordered) - 101
        assert abs(ordered.index(cuts[0]) - 100 - left // 2) <= 1  # half of those after it
        assert loader.split_keys(list(ordered[-1]), 2) == []  # nothing after the last
        assert loader.split_keys(None, 1) == []
        # cut by what a reprocess derives (not the plain ones): each run holds about as many of those
        where = f"NOT {PLAIN_STORED}"
        deriving = [tuple(row) for row in loader.select(ORDERED.replace(" ORDER BY", f" WHERE {where} ORDER BY"))]
        assert 0 < len(deriving) < len(ordered)
        counts = loader.conversation_counts(None, where)
        assert sum(row[2] for row in counts) == len(deriving)
        for given in (None, counts):
            cuts = loader.split_keys(None, 3, where, given)
            at = [deriving.index(cut) for cut in cuts]
            sizes = [b - a for a, b in zip([-1, *at], [*at, len(deriving) - 1], strict=True)]
            assert len(sizes) == 3 and max(sizes) - min(sizes) <= 1, sizes
    finally:
        loader.close()


ORDERED = "SELECT owner_id, conversation_id, id FROM messages ORDER BY owner_id, conversation_id, id"


def test_a_checkpoint_of_the_previous_version_is_continued(old_archive: Any, any_db: Any) -> None:
    """A reprocess stopped by the previous version named one key (`after`), not runs of keys: it continues."""
    fresh_import(any_db)
    first, _, _ = stopped_after(old_archive.url, 1, page=50)
    assert first["status"] == "cancelled"
    checkpoint = checkpoint_of(old_archive, first["run_id"])
    (after, upto), *others = checkpoint.pop("ranges")
    assert (upto, others) == (None, [])
    checkpoint["after"] = after
    old_archive.execute("UPDATE etl_runs SET checkpoint = ? WHERE kind = 'reprocess'", (json.dumps(checkpoint),))
    resumed_to_a_fresh_import(old_archive, any_db)


def test_pages_with_nothing_to_change_commit_a_checkpoint_at_most_once_a_second(
    any_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each commit waits for the disk: on an archive with nothing to change the first page's checkpoint is written
    and the next ones within the second are not; a stop then resumes from the last one written, and the count of
    messages looked at still adds up."""
    monkeypatch.setattr(reprocessing, "CHECKPOINT_EVERY_S", 60.0)  # however slow the machine
    fresh_import(any_db)
    everything = any_db.one("SELECT count(*) FROM messages")
    first, _, _ = stopped_after(any_db.url, 5, page=10)
    assert (first["status"], first["changed"], first["messages"]) == ("cancelled", 0, 50)
    assert (
        checkpoint_of(any_db, first["run_id"])["messages"] == 10
    )  # the first page's; the four after it came within the minute
    second = reprocess(any_db.url, page=10)
    assert (second["status"], second["resumed"], second["messages"]) == ("completed", True, everything)


def test_the_senders_sum_sorts_on_disk_and_leaves_the_connection_as_it_was(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite: the sum's GROUP BY holds a key a message; it goes to a temporary file (one conversation may have
    a million messages), and the connection's own setting (memory) comes back after it. In a transaction, where
    SQLite cannot change it, the sum is read as the connection is."""
    from skype_etl_gui.etl.load.base import Loader

    fresh_import(db)
    loader = open_existing(db.url)
    try:
        conn = loader.conn  # type: ignore[attr-defined]
        during: list[int] = []
        summed = Loader.senders_of

        def spy(self: Loader, conversations: Any) -> Any:
            during.append(conn.execute("PRAGMA temp_store").fetchone()[0])
            return summed(self, conversations)

        monkeypatch.setattr(Loader, "senders_of", spy)
        every = loader.senders_of(None)
        assert every and during == [1]  # FILE
        assert conn.execute("PRAGMA temp_store").fetchone()[0] == 2  # MEMORY again, as connect() set it
        conn.execute("BEGIN")
        assert loader.senders_of(None) == every and during == [1, 2]
        conn.execute("ROLLBACK")
    finally:
        loader.close()


def test_link_replies_sets_fixes_and_clears_in_one_pass(any_db: Any, tmp_path: Path) -> None:
    """reply_to is the quoted message's id where that message is stored, and NULL elsewhere: set where missing,
    corrected where wrong, cleared where the quote names no stored message or there is no quote."""
    entries = [
        message("1", "quoted"),
        message("2", 'a reply <quote messageid="1">quoted</quote>'),
        message("3", 'a reply to a lost one <quote messageid="999">gone</quote>'),
        message("4", "no quote at all"),
        message("5", 'another reply <quote messageid="1">quoted</quote>'),
    ]
    path = write_export(tmp_path / "q.json", export_document([conversation("8:anna", entries)]))
    assert ETLPipeline(any_db.url).run(path)["status"] == "completed"
    linked = "SELECT id, reply_to FROM messages ORDER BY id"
    wanted = [("1", None), ("2", "1"), ("3", None), ("4", None), ("5", "1")]
    assert any_db.query(linked) == wanted
    any_db.execute("UPDATE messages SET reply_to = CASE id WHEN '2' THEN NULL WHEN '5' THEN '4' ELSE '1' END")
    loader = open_existing(any_db.url)
    try:
        assert loader.link_replies() == 5  # every row was wrong
        assert loader.link_replies() == 0  # and nothing is left to change
    finally:
        loader.close()
    assert any_db.query(linked) == wanted


def test_stale_child_rows_are_pruned(any_db: Any) -> None:
    """A reaction and a mention left by a version that lost (an import stopped before its end, an earlier
    version) go, though their message is not derived again: the archive is a fresh import's."""
    fresh_import(any_db)
    wanted = any_db.snapshot()
    # a message the stage does not derive (stored as derive() makes it): only the pruning can remove its rows
    owner, conv, msg, version = any_db.query(
        f"SELECT owner_id, conversation_id, id, version FROM messages WHERE {PLAIN_STORED} "
        "ORDER BY owner_id, conversation_id, id"
    )[0]
    stale = float(version or 0) - 1
    any_db.execute(
        "INSERT INTO reactions (owner_id, conversation_id, message_id, emotion, user_id, message_version) "
        "VALUES (?, ?, ?, 'like', '8:old', ?)",
        (owner, conv, msg, stale),
    )
    any_db.execute(
        "INSERT INTO mentions (owner_id, conversation_id, message_id, position, mentioned_id, message_version) "
        "VALUES (?, ?, ?, 99, '8:old', ?)",
        (owner, conv, msg, stale),
    )
    summary = reprocess(any_db.url, page=50, worker=True)
    assert summary["status"] == "completed", summary["error"]
    assert summary["changed"] == 2  # the two stale rows, and nothing else
    assert_same_tables(any_db.snapshot(), wanted)
