"""What every window test shares: private settings, and no background job outliving its test."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings

from skype_etl_gui.gui.jobs import Job, share_the_interpreter_lock

share_the_interpreter_lock()  # as skype-etl-gui does before its window opens


@pytest.fixture(autouse=True)
def private_settings(tmp_path: Path) -> None:
    """QSettings of this test alone, never the user's."""
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))


def stop_jobs(*_: Any) -> None:
    """Ask every job to stop and wait for each (what closing the program does, after its windows)."""
    Job.quit_all()
    assert Job.wait_all(120), f"jobs still running: {Job.running()}"


@pytest.fixture(autouse=True)
def collector_as_in_the_program() -> Iterator[None]:
    """What lives before the test is out of the collector's sight, as skype-etl-gui does once its window is up
    (gc.freeze): the GUI-thread budgets measure this program, not the test run's heap."""
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


@pytest.fixture(autouse=True)
def no_job_outlives_its_test(qtbot: Any) -> Iterator[None]:
    yield
    stop_jobs()
    qtbot.waitUntil(lambda: not Job.running(), timeout=10_000)
