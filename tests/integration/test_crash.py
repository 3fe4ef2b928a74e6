"""A real importing process killed with SIGKILL, then resumed: the result equals an uninterrupted import."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from skype_etl_gui.etl import ETLPipeline
from skype_etl_gui.sample import SampleStats, write_sample
from tests.conftest import Database, PgDatabase

ROOT = Path(__file__).resolve().parent.parent.parent
MESSAGES = 60_000  # about 28 MB: large enough for the worker process


@pytest.fixture(scope="module")
def big_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SampleStats]:
    path = tmp_path_factory.mktemp("crash") / "export.tar"
    return path, write_sample(path, messages=MESSAGES, seed=33)


@pytest.fixture(scope="module")
def reference(big_export: tuple[Path, SampleStats], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    database = Database(tmp_path_factory.mktemp("reference") / "full.db")
    assert ETLPipeline(database.url).run(big_export[0])["status"] == "completed"
    return database.snapshot()


def committed(database: Any) -> int:
    """Messages the newest run's checkpoint says are committed (0 before the first batch)."""
    try:
        raw = database.one("SELECT checkpoint FROM etl_runs ORDER BY started_at DESC LIMIT 1")
    except Exception:  # noqa: BLE001 - the tables may not exist yet
        return 0
    if raw is None:
        return 0
    checkpoint = raw if isinstance(raw, dict) else json.loads(raw)
    return int(checkpoint.get("messages", 0))


@pytest.mark.parametrize("fraction", [0.05, 0.5, 0.9], ids=["early", "middle", "late"])
def test_sigkill_then_resume(
    big_export: tuple[Path, SampleStats], reference: dict[str, Any], any_db: Any, fraction: float
) -> None:
    path, stats = big_export
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "skype_etl_gui",
            "import",
            str(path),
            "--db",
            any_db.url,
            "--quiet",
            "--batch-size",
            "1000",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    children: list[psutil.Process] = []
    deadline = time.monotonic() + 120
    while committed(any_db) < fraction * MESSAGES:
        assert process.poll() is None, "the import ended before it could be killed"
        assert time.monotonic() < deadline
        children = psutil.Process(process.pid).children() or children
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    # the worker notices its reader is gone and ends too: no orphan keeps reading
    for child in children:
        try:
            child.wait(10)
        except psutil.NoSuchProcess:
            pass
    assert not any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in children)
    assert any_db.one("SELECT status FROM etl_runs") == "running"  # as the killed process left it
    listed = subprocess.run(
        [sys.executable, "-m", "skype_etl_gui", "runs", "--db", any_db.url], cwd=ROOT, capture_output=True, text=True
    )
    assert "interrupted (can be resumed)" in listed.stdout  # its process is gone
    stored = any_db.count("messages")
    assert 0 < stored < stats.unique_messages

    done = subprocess.run(
        [sys.executable, "-m", "skype_etl_gui", "import", str(path), "--db", any_db.url, "--resume", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.splitlines()[-1])
    assert summary["resumed"] is True and summary["messages_skipped"] >= fraction * MESSAGES
    assert "Resuming the interrupted import" in done.stderr
    assert any_db.snapshot() == reference


def test_postgres_backend_terminated_mid_run(
    big_export: tuple[Path, SampleStats], reference: dict[str, Any], pg_server: Any, pg_db: PgDatabase
) -> None:
    pipeline = ETLPipeline(pg_db.url, batch_size=1000)
    context = pipeline.new_context()
    terminated = threading.Event()

    def on_checkpoint(checkpoint: dict[str, Any]) -> None:
        if checkpoint.get("messages", 0) > MESSAGES / 3 and not terminated.is_set():
            terminated.set()
            pg_server.admin(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'skype-etl'",
                database=pg_db.name,
            )

    context.subscribe("checkpoint", on_checkpoint)
    summary = pipeline.run(big_export[0], context=context)
    assert terminated.is_set()
    assert summary["status"] == "completed", summary["error"]
    assert pg_db.one("SELECT count(*) FROM etl_errors WHERE error_type = 'ConnectionLost'") >= 1
    assert pg_db.snapshot() == reference


def own_server() -> Any:
    """A PostgreSQL server for one test alone (it stops and starts it); the caller stops it at the end."""
    from tests.pgserver import PostgresServer, find_bindir

    bindir = find_bindir()
    if bindir is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL is not installed")
        pytest.skip("PostgreSQL is not installed")
    return PostgresServer(bindir).start()


def test_server_gone_fails_then_resumes(big_export: tuple[Path, SampleStats], reference: dict[str, Any]) -> None:
    """The server goes away mid-run: retries, then a failed run; with the server back, --resume finishes it."""
    server = own_server()  # a server of its own: this test stops it
    try:
        database = PgDatabase(server, server.create_database())
        pipeline = ETLPipeline(database.url, batch_size=1000, retry_for_s=3)
        context = pipeline.new_context()
        halted = threading.Event()

        def on_checkpoint(checkpoint: dict[str, Any]) -> None:
            if checkpoint.get("messages", 0) > MESSAGES / 2 and not halted.is_set():
                halted.set()
                server.halt()

        context.subscribe("checkpoint", on_checkpoint)
        summary = pipeline.run(big_export[0], context=context)
        assert halted.is_set()
        assert summary["status"] == "failed" and "could not be reached for" in summary["error"]
        assert "resume" in summary["error"] and "test-superuser-pw" not in summary["error"]
        server.run_server()
        assert database.one("SELECT status FROM etl_runs") == "running"  # its end could not be recorded
        again = ETLPipeline(database.url).run(big_export[0], resume=True)
        assert again["status"] == "completed" and again["resumed"]
        assert database.snapshot() == reference
    finally:
        server.stop()


def test_a_server_restart_mid_import_is_waited_out(
    big_export: tuple[Path, SampleStats], reference: dict[str, Any]
) -> None:
    """PostgreSQL goes away for 2 s under a running import: it reconnects, goes on, and nothing is written twice."""
    server = own_server()
    try:
        database = PgDatabase(server, server.create_database())
        pipeline = ETLPipeline(database.url, batch_size=1000)
        context = pipeline.new_context()
        restarted = threading.Event()

        def on_checkpoint(checkpoint: dict[str, Any]) -> None:
            if checkpoint.get("messages", 0) > MESSAGES / 3 and not restarted.is_set():
                restarted.set()
                server.halt()
                threading.Timer(2.0, server.run_server).start()

        context.subscribe("checkpoint", on_checkpoint)
        summary = pipeline.run(big_export[0], context=context)
        assert restarted.is_set()
        assert summary["status"] == "completed", summary["error"]
        assert database.one("SELECT count(*) FROM etl_errors WHERE error_type = 'ConnectionLost'") >= 1
        assert database.snapshot() == reference
        kinds = database.query(
            "SELECT error_type, count(*) FROM etl_errors WHERE error_type <> 'ConnectionLost' GROUP BY 1"
        )
        assert dict(kinds) == {k: v for k, v in context.error_types.items() if k != "ConnectionLost"}, "none twice"
    finally:
        server.stop()


def test_cancel_reaches_the_wait_between_retries(big_export: tuple[Path, SampleStats]) -> None:
    """The server goes away and the importer waits to try again (0.5, 1, 2 s): a cancel ends the wait at once."""
    server = own_server()  # a server of its own: this test stops it
    try:
        database = PgDatabase(server, server.create_database())
        pipeline = ETLPipeline(database.url, batch_size=1000, parallel=False)
        context = pipeline.new_context()
        cancelled_at: list[float] = []

        def on_checkpoint(checkpoint: dict[str, Any]) -> None:
            if checkpoint.get("messages", 0) > 2000 and not cancelled_at:
                server.halt()

        def on_error(record: Any) -> None:
            if record.error_type == "ConnectionLost" and not cancelled_at:
                cancelled_at.append(time.monotonic())
                pipeline.cancel()  # now, while it waits before trying again

        context.subscribe("checkpoint", on_checkpoint)
        context.subscribe("error", on_error)
        summary = pipeline.run(big_export[0], context=context)
        waited = time.monotonic() - cancelled_at[0]
        assert summary["status"] == "cancelled", summary
        assert waited < 0.4, f"the run went on for {waited:.2f} s after the cancel"
        assert "could be recorded" in summary["error"]
        server.run_server()
        assert database.one("SELECT status FROM etl_runs") == "running", "its end could not be written: resumable"
        again = ETLPipeline(database.url).run(big_export[0], resume=True)
        assert again["status"] == "completed" and again["resumed"]
    finally:
        server.stop()


def test_runs_lists_what_can_be_resumed(big_export: tuple[Path, SampleStats], db: Database) -> None:
    pipeline = ETLPipeline(db.url, batch_size=1000)
    context = pipeline.new_context()
    context.subscribe("checkpoint", lambda _: pipeline.cancel())
    assert pipeline.run(big_export[0], context=context)["status"] == "cancelled"
    listed = subprocess.run(
        [sys.executable, "-m", "skype_etl_gui", "runs", "--db", db.url], cwd=ROOT, capture_output=True, text=True
    )
    assert "cancelled" in listed.stdout and "can be resumed" in listed.stdout
