"""Pause and cancel belong to one run: a cancel sent before a run starts is kept, and nothing leaks into the next."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from skype_etl_gui.etl import ETLPipeline
from skype_etl_gui.etl.errors import Cancelled
from skype_etl_gui.etl.extract import Extractor, MessageChunk, Position
from skype_etl_gui.sample import SampleStats, write_sample
from tests.conftest import Database


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SampleStats]:
    path = tmp_path_factory.mktemp("controls") / "export.tar"
    return path, write_sample(path, messages=3000, seed=71)


def test_a_cancel_before_run_starts_is_kept_and_writes_nothing(export: tuple[Path, SampleStats], db: Database) -> None:
    pipeline = ETLPipeline(db.url, parallel=False)
    pipeline.cancel()
    summary = pipeline.run(export[0])
    assert summary["status"] == "cancelled" and summary["messages"] == 0
    assert not db.exists(), "nothing read, nothing written, not even the database file"
    again = pipeline.run(export[0])  # the cancel was that run's: the next one runs
    assert again["status"] == "completed" and db.count("messages") == export[1].unique_messages


@pytest.mark.parametrize("parallel", [False, True], ids=["in-process", "worker-process"])
def test_a_pause_never_reaches_the_next_run(export: tuple[Path, SampleStats], db: Database, parallel: bool) -> None:
    pipeline = ETLPipeline(db.url, batch_size=200, parallel=parallel)
    results: list[dict[str, Any]] = []
    worker = threading.Thread(target=lambda: results.append(pipeline.run(export[0])))
    pipeline.pause()
    worker.start()
    assert pipeline.wait_until_holding(60)
    pipeline.cancel()  # while paused
    worker.join(60)
    assert results[0]["status"] == "cancelled"
    assert not pipeline.paused and not pipeline.is_holding
    started = time.monotonic()
    second = pipeline.run(export[0], resume=True)
    assert second["status"] == "completed" and second["resumed"]
    assert time.monotonic() - started < 60


def test_cancel_reaches_a_tar_gz_fast_forward(tmp_path: Path) -> None:
    """Resuming a compressed export reads everything before the checkpoint again; a stop ends that read at once."""
    from tests.gui.test_resume_closing import BEFORE, HEADER, spaced_tar_gz

    path, offset = spaced_tar_gz(tmp_path / "spaced.tar.gz")
    start = Position(0, BEFORE + 1, offset, HEADER)

    def read_back(stop_after: float) -> tuple[float, list[Any]]:
        stop = threading.Event()
        seen: list[Any] = []
        timer = threading.Timer(stop_after, stop.set)
        timer.start()
        began = time.monotonic()
        with pytest.raises(Cancelled):
            Extractor(path, start=start, stop=stop).stream(seen.append)
        timer.cancel()
        return time.monotonic() - began, [e for e in seen if isinstance(e, MessageChunk)]

    took, chunks = read_back(0.1)
    assert took < 0.6 and chunks == [], f"stopped after {took:.2f} s"
    # left alone for a second, it is still reading back: the stop above did cut that read short
    took, chunks = read_back(1.0)
    assert 1.0 <= took < 1.5 and chunks == []
