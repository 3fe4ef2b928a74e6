"""Closing the window while a resumed .tar.gz import reads its way back to the checkpoint: a clean stop, at once."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from skype_etl_gui.gui.jobs import Job
from tests.bigfiles import tar_gz_with_filler
from tests.conftest import Database, message
from tests.gui.test_main_window import FINISH_MS, answer_resume, button, make_window

SPACES = 6 * 1024**3  # whitespace between two messages: a few MB gzipped, seconds to read through
HEADER = {"id": "8:spaced", "displayName": "Spaced", "version": 1, "properties": None, "threadProperties": None}
BEFORE = 150  # messages before the whitespace


def spaced_tar_gz(path: Path) -> tuple[Path, int]:
    """A .tar.gz whose messages.json has 6 GiB of whitespace after message BEFORE, and 150 messages after it.

    Returns the path and the byte offset in messages.json of message BEFORE + 2, where an import with
    batches of BEFORE messages puts its first checkpoint: a resume reads everything up to there again.
    The whitespace costs next to nothing on disk (see tests/bigfiles.py).
    """
    head = json.dumps({"userId": "8:live:me", "exportDate": "2025-04-30T18:22"})[:-1]
    head += ', "conversations": [' + json.dumps(HEADER)[:-1] + ', "MessageList": ['
    first = ", ".join(json.dumps(message(str(n))) for n in range(1, BEFORE + 1)).encode()
    rest = [json.dumps(message(str(n))).encode() for n in range(BEFORE + 1, 2 * BEFORE + 1)]
    opening = head.encode() + first + b", "
    tar_gz_with_filler(path, opening, b" ", SPACES, b", ".join(rest) + b"]}]}")
    return path, len(opening) + SPACES + len(rest[0]) + 2


def interrupted_at(db_url: str, path: Path, offset: int) -> str:
    """An import of `path` cancelled at its first checkpoint, as an import would have recorded it."""
    from skype_etl_gui.etl import open_loader
    from skype_etl_gui.etl.extract import fingerprint

    checkpoint = {
        "run_id": "cancelled-run",
        "messages": BEFORE + 1,
        "conversations": 0,
        "conversation_index": 0,
        "entries_done": BEFORE + 1,
        "byte_offset": offset,
        "header": HEADER,
    }
    with open_loader(db_url) as loader:
        loader.ensure_schema()
        loader.start_run(
            {
                "id": "cancelled-run",
                "export_path": str(path.resolve()),
                "export_fingerprint": fingerprint(path),
                "export_size": path.stat().st_size,
                "status": "cancelled",
                "started_at": "2026-11-29T05:00:00.000Z",
                "messages": BEFORE + 1,
                "checkpoint": checkpoint,
            }
        )
    return "cancelled-run"


@pytest.fixture(scope="module")
def spaced(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    return spaced_tar_gz(tmp_path_factory.mktemp("spaced") / "spaced.tar.gz")


def test_closing_during_a_tar_gz_resume_fast_forward(
    qtbot: Any, spaced: tuple[Path, int], db: Database, monkeypatch: pytest.MonkeyPatch, capfd: Any
) -> None:
    path, offset = spaced
    interrupted_at(db.url, path, offset)  # the resume has 6 GiB to read through first
    answer_resume(monkeypatch, "resume")
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    window = make_window(qtbot, path, db)
    qtbot.mouseClick(button(window, "startButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.presenter.state == "running", timeout=FINISH_MS)
    qtbot.wait(300)  # the worker process is reading its way back to the checkpoint
    assert db.count("etl_runs") == 1, "the resumed run has not written its first batch"
    started = time.monotonic()
    assert not window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=FINISH_MS)
    took = time.monotonic() - started
    assert took < 1.0, f"closing took {took:.2f} s (the read back to the checkpoint alone takes more)"
    assert [job.objectName() for job in Job.running()] in ([], ["settings"])
    assert db.one("SELECT status FROM etl_runs") == "cancelled", "still resumable as it was"
    assert "Destroyed while thread" not in capfd.readouterr().err
