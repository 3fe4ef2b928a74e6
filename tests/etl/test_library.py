"""The library surface: ETLPipeline sync and async, the legacy SkypeETLPipeline, the examples."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from skype_etl_gui.etl import ETLContext, ETLPipeline, Extractor, Loader, SkypeETLPipeline, Transformer
from skype_etl_gui.sample import SampleStats, write_sample
from tests.conftest import Database
from tests.pgserver import SUPERUSER_PASSWORD

ROOT = Path(__file__).resolve().parent.parent.parent


def test_the_contract_names_import() -> None:
    assert all(callable(c) for c in (ETLContext, ETLPipeline, Extractor, Transformer, Loader, SkypeETLPipeline))


# --- async ----------------------------------------------------------------------------------------------
def test_two_imports_at_once_from_one_event_loop(small_sample: tuple[Path, SampleStats], tmp_path: Path) -> None:
    path, stats = small_sample
    first, second = Database(tmp_path / "one.db"), Database(tmp_path / "two.db")

    async def both() -> tuple[list[dict[str, Any]], int]:
        ticks = 0
        running = asyncio.gather(ETLPipeline(first.url).run_async(path), ETLPipeline(second.url).run_async(path))
        while not running.done():
            await asyncio.sleep(0.005)
            ticks += 1
        return await running, ticks

    summaries, ticks = asyncio.run(both())
    assert [s["status"] for s in summaries] == ["completed", "completed"]
    assert first.count("messages") == second.count("messages") == stats.unique_messages
    assert ticks > 3, "the loop kept running while both imports did"


def test_cancelling_the_task_cancels_the_import(tmp_path: Path, db: Database) -> None:
    path = tmp_path / "e.tar"
    write_sample(path, messages=20000, seed=6)
    pipeline = ETLPipeline(db.url, batch_size=200, parallel=False)

    async def cancel_midway() -> None:
        task = asyncio.create_task(pipeline.run_async(path))
        while not (db.exists() and _stored(db)):
            await asyncio.sleep(0.01)
        task.cancel()
        await task

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(cancel_midway())
    assert db.one("SELECT status FROM etl_runs") == "cancelled"
    resumed = ETLPipeline(db.url).run(path, resume=True)
    assert resumed["status"] == "completed" and resumed["resumed"]


def _stored(db: Database) -> bool:
    try:
        return db.count("messages") > 0
    except Exception:  # noqa: BLE001 - the schema may not exist yet
        return False


# --- the legacy API -----------------------------------------------------------------------------------------
def legacy(**options: Any) -> SkypeETLPipeline:
    with pytest.warns(DeprecationWarning, match="ETLPipeline"):
        return SkypeETLPipeline(**options)


@pytest.mark.parametrize("kind", ["tar", "json"])
def test_legacy_run_on_a_path(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"e.{kind}"
    stats = write_sample(path, messages=500, seed=2)
    result = legacy(output_dir=tmp_path / "out", parallel_processing=False).run_pipeline(
        file_path=path, is_tar=kind == "tar"
    )
    assert result["success"] is True
    assert set(result) == {"success", "export_id", "conversations", "message_count", "duration_seconds"}
    assert result["conversations"] == stats.conversations
    assert result["message_count"] == stats.messages - stats.without_id
    assert Database(tmp_path / "out" / "skype_history.db").count("messages") == stats.unique_messages


def test_legacy_run_on_a_stream(small_sample: tuple[Path, SampleStats], tmp_path: Path) -> None:
    data = small_sample[0].read_bytes()
    result = legacy(output_dir=tmp_path).run_pipeline(file_obj=io.BytesIO(data), is_tar=True)
    assert result["success"] is True and result["message_count"] > 0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("skype-export-")] == []  # the spool is gone


def test_legacy_failures(tmp_path: Path) -> None:
    pipeline = legacy(output_dir=tmp_path)
    missing = pipeline.run_pipeline(file_path=tmp_path / "missing.tar")
    assert (
        missing == {"success": False, "error": missing["error"], "error_count": 1}
        and "no such file" in missing["error"]
    )
    assert pipeline.run_pipeline()["success"] is False
    garbage = pipeline.run_pipeline(file_obj=io.BytesIO(b"not an export"))
    assert garbage["success"] is False and "not a Skype export" in garbage["error"]


def test_legacy_postgres_both_ways(small_sample: tuple[Path, SampleStats], pg_server: Any, pg_db: Any) -> None:
    config = {
        "dbname": pg_db.name,
        "user": "postgres",
        "password": SUPERUSER_PASSWORD,
        "host": "127.0.0.1",
        "port": pg_server.port,
    }
    by_config = legacy(db_config=config).run_pipeline(file_path=small_sample[0])
    assert by_config["success"] is True
    by_arguments = legacy(
        db_name=pg_db.name,
        db_user="postgres",
        db_password=SUPERUSER_PASSWORD,
        db_host="127.0.0.1",
        db_port=pg_server.port,
    ).run_pipeline(file_path=small_sample[0])
    assert by_arguments["success"] is True
    assert pg_db.count("etl_runs") == 2 and pg_db.count("messages") == small_sample[1].unique_messages
    wrong = legacy(db_config={**config, "password": "nope"}).run_pipeline(file_path=small_sample[0])
    assert (
        wrong["success"] is False
        and "password authentication failed" in wrong["error"]
        and "nope" not in wrong["error"]
    )


# --- the examples run ------------------------------------------------------------------------------------------
def test_examples_run(small_sample: tuple[Path, SampleStats], tmp_path: Path) -> None:
    context = subprocess.run(
        [sys.executable, "examples/etl_context_example.py", str(small_sample[0]), f"sqlite:///{tmp_path}/a.db"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert context.returncode == 0, context.stderr
    assert "paused after" in context.stdout and "resuming" in context.stdout and "completed:" in context.stdout
    assert "MissingMessageId" in context.stdout
    concurrent = subprocess.run(
        [
            sys.executable,
            "examples/async_example.py",
            str(small_sample[0]),
            f"sqlite:///{tmp_path}/b.db",
            f"sqlite:///{tmp_path}/c.db",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert concurrent.returncode == 0, concurrent.stderr
    assert concurrent.stdout.count("completed") == 2 and "ticked" in concurrent.stdout
