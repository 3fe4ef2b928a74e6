"""Imports side by side: two at once into one database, the same one refused, and runs whose process is gone."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from skype_etl_gui.cli import main
from skype_etl_gui.etl import ETLPipeline, liveness
from skype_etl_gui.etl.load import open_existing
from skype_etl_gui.etl.run import pipeline as pipeline_module
from skype_etl_gui.sample import write_sample
from tests.conftest import Database, PgDatabase, conversation, held_import, message, write_export

ROOT = Path(__file__).resolve().parent.parent.parent


def keys(db: Any) -> set[tuple[Any, ...]]:
    return set(db.query("SELECT owner_id, conversation_id, id FROM messages"))


def importing(path: Path, url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "skype_etl_gui", "import", str(path), "--db", url, "--json", "--batch-size", "500"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_imports_at_once_both_complete(any_db: Any, tmp_path: Path) -> None:
    """Different exports (one owner's, another's) into one database at the same time, many small transactions each:
    on PostgreSQL side by side, on SQLite each waiting for the other's transactions; never "database is locked"."""
    first, second = tmp_path / "one.tar", tmp_path / "two.tar"
    write_sample(first, messages=20_000, seed=1)
    document = {
        "userId": "8:live:someone.else",
        "conversations": [
            conversation(
                f"8:friend{c}", [message(str(i), f"line {i}", **{"from": f"8:friend{c}"}) for i in range(2000)]
            )
            for c in range(10)
        ],
    }
    write_export(second, document, kind="tar")
    processes = [importing(first, any_db.url), importing(second, any_db.url)]
    results = [p.communicate(timeout=300) for p in processes]
    for process, (out, err) in zip(processes, results, strict=True):
        assert process.returncode == 0, err
        assert '"status": "completed"' in out.splitlines()[-1]
    assert any_db.one("SELECT count(*) FROM etl_errors WHERE error_type = 'ConnectionLost'") == 0
    # the same rows as one after the other
    if isinstance(any_db, PgDatabase):
        name = any_db.server.create_database()
        alone: Any = PgDatabase(any_db.server, name)
    else:
        name, alone = None, Database(tmp_path / "alone.db")
    try:
        for path in (first, second):
            assert ETLPipeline(alone.url).run(str(path))["status"] == "completed"
        assert keys(any_db) == keys(alone)
        assert len(keys(any_db)) > 20_000
    finally:
        if name is not None:
            any_db.server.drop_database(name)


def test_the_same_export_while_a_live_process_imports_it_is_refused(
    any_db: Any, small_sample: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    export, _ = small_sample
    with held_import(any_db.url, export) as (_, outcome):  # its run is recorded as running, by this process
        before = any_db.snapshot(), any_db.count("etl_runs"), any_db.count("etl_errors")
        assert main(["import", str(export), "--db", any_db.url]) == 2
        err = capsys.readouterr().err
        assert f"process {os.getpid()} on {liveness.HOST} is importing this export" in err
        assert err.count("\n") == 1  # one line
        assert (any_db.snapshot(), any_db.count("etl_runs"), any_db.count("etl_errors")) == before
        # nor is it offered for resuming: it is not interrupted
        loader = open_existing(any_db.url)
        try:
            assert loader.unfinished_runs() == []
            assert [run["status"] for run in loader.runs()] == ["running"]
        finally:
            loader.close()
    assert outcome["status"] == "completed"
    # once it is done, the same export imports again (and changes nothing)
    assert main(["import", str(export), "--db", any_db.url, "--quiet"]) == 0


def test_a_paused_import_keeps_its_heartbeat(any_db: Any, small_sample: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline_module, "HEARTBEAT_EVERY_S", 0.05)
    with held_import(any_db.url, small_sample[0]):
        first = str(any_db.one("SELECT heartbeat_at FROM etl_runs"))
        deadline = datetime.now() + timedelta(seconds=10)
        while str(any_db.one("SELECT heartbeat_at FROM etl_runs")) == first:
            assert datetime.now() < deadline, "the heartbeat stood still while paused"


def run_of(**fields: Any) -> dict[str, Any]:
    now = datetime.now(timezone.utc)
    run = {"id": "r1", "status": "running", "started_at": now.isoformat(), "heartbeat_at": now.isoformat()}
    run.update(fields)
    return run


def test_which_running_runs_have_lost_their_process() -> None:
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    here = liveness.HOST
    parent = os.getppid()  # alive, and started before this run
    assert liveness.is_gone(run_of(pid=ended.pid, host=here))  # no such process on this machine
    assert not liveness.is_gone(run_of(pid=parent, host=here))
    # the pid is there, but the process got it after the run started: another program
    long_ago = (datetime.now(timezone.utc) - timedelta(days=3650)).isoformat()
    assert liveness.is_gone(run_of(pid=os.getpid(), host=here, id="not ours", started_at=long_ago))
    assert liveness.is_gone(run_of(pid=parent, host=here, started_at=long_ago))
    # this process: alive only while it runs the run
    assert liveness.is_gone(run_of(pid=os.getpid(), host=here))
    liveness.running("r1")
    try:
        assert not liveness.is_gone(run_of(pid=os.getpid(), host=here))
    finally:
        liveness.stopped("r1")
    # another machine: its heartbeat tells
    stale = (datetime.now(timezone.utc) - timedelta(seconds=liveness.HEARTBEAT_LIMIT_S + 60)).isoformat()
    assert not liveness.is_gone(run_of(pid=1, host="elsewhere"))
    assert liveness.is_gone(run_of(pid=1, host="elsewhere", heartbeat_at=stale))
    # a run of an earlier version, which recorded no process: only a killed import leaves one running
    assert liveness.is_gone(run_of(pid=None, host=None))


def test_two_processes_making_one_new_sqlite_file_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both saw no file; the other made it first: this one opens it (it failed with "File exists")."""
    from skype_etl_gui.etl.load import sqlite as sqlite_loader

    path = tmp_path / "new.db"
    real = os.open

    def made_by_the_other(name: Any, flags: int, *args: Any) -> int:
        if Path(name) == path and flags & os.O_EXCL:
            os.close(real(name, os.O_WRONLY | os.O_CREAT, 0o600))  # the other process, just before
        return real(name, flags, *args)

    monkeypatch.setattr(sqlite_loader.os, "open", made_by_the_other)
    summary = ETLPipeline(f"sqlite:///{path}").run(
        str(
            write_export(
                tmp_path / "e.json", {"userId": "8:me", "conversations": [conversation("8:a", [message("1")])]}
            )
        )
    )
    assert summary["status"] == "completed"
