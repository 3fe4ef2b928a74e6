"""The main window's presenter on its own, without a widget: states, the resume decision, notices, closing."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from skype_etl_gui.gui.jobs import Job
from skype_etl_gui.gui.presenters.main import MainPresenter, Notice
from skype_etl_gui.sample import SampleStats, write_sample
from tests.conftest import Database, write_bad_export
from tests.etl.test_resume import interrupted

FINISH_MS = 120_000


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SampleStats]:
    path = tmp_path_factory.mktemp("presenter") / "export.tar"
    return path, write_sample(path, messages=4000, seed=51)


class Recorder:
    """Everything a presenter says, in order, as a view would hear it."""

    def __init__(self, presenter: MainPresenter) -> None:
        self.presenter = presenter
        self.states: list[str] = []
        self.notices: list[tuple[Notice, bool]] = []  # and whether a job was still running then
        self.offers: list[int] = []
        self.previews: list[str] = []
        self.finished: list[dict[str, Any]] = []
        presenter.state_changed.connect(self._state)
        presenter.notice.connect(lambda n: self.notices.append((n, presenter.busy)))
        presenter.resume_offered.connect(self.offers.append)
        presenter.preview.connect(self.previews.append)
        presenter.import_finished.connect(self.finished.append)

    def _state(self, state: str) -> None:
        if not self.states or self.states[-1] != state:
            self.states.append(state)


def make(qtbot: Any, batch_size: int = 5000) -> tuple[MainPresenter, Recorder]:
    presenter = MainPresenter(batch_size=batch_size)
    return presenter, Recorder(presenter)


def wait_idle(qtbot: Any, presenter: MainPresenter) -> None:
    qtbot.waitUntil(lambda: not presenter.busy, timeout=FINISH_MS)


def test_an_import_goes_checking_running_finished(qtbot: Any, export: tuple[Path, SampleStats], db: Database) -> None:
    presenter, heard = make(qtbot)
    assert presenter.state == "idle"
    assert presenter.start(str(export[0]), db.url)
    assert presenter.state == "checking" and presenter.busy
    assert not presenter.start(str(export[0]), db.url), "one at a time"
    wait_idle(qtbot, presenter)
    assert heard.states == ["checking", "running", "finished"]
    (summary,) = heard.finished
    assert summary["status"] == "completed" and db.count("messages") == export[1].unique_messages
    assert presenter.run_id == summary["run_id"]
    assert heard.offers == []
    assert heard.notices == [(Notice("errors", "", count=summary["errors"]), False)], "the sample has bad records"


def test_an_unfinished_import_is_offered_and_resumed(
    qtbot: Any, export: tuple[Path, SampleStats], db: Database
) -> None:
    cancelled = interrupted(db.url, export[0], 2, parallel=False, batch_size=500)
    presenter, heard = make(qtbot)
    presenter.start(str(export[0]), db.url)
    qtbot.waitUntil(lambda: heard.offers != [], timeout=FINISH_MS)
    assert heard.offers == [cancelled["messages"]] and presenter.state == "checking"
    presenter.answer_resume("resume")
    wait_idle(qtbot, presenter)
    (summary,) = heard.finished
    assert summary["resumed"] and summary["messages_skipped"] == cancelled["messages"]
    assert db.count("messages") == export[1].unique_messages


def test_answering_cancel_to_the_offer_writes_nothing(
    qtbot: Any, export: tuple[Path, SampleStats], db: Database
) -> None:
    interrupted(db.url, export[0], 1, parallel=False, batch_size=500)
    runs = db.count("etl_runs")
    presenter, heard = make(qtbot)
    presenter.start(str(export[0]), db.url)
    qtbot.waitUntil(lambda: heard.offers != [], timeout=FINISH_MS)
    presenter.answer_resume("cancel")
    wait_idle(qtbot, presenter)
    assert presenter.state == "idle" and heard.finished == [] and db.count("etl_runs") == runs
    presenter.start(str(export[0]), db.url)
    qtbot.waitUntil(lambda: len(heard.offers) == 2, timeout=FINISH_MS)
    presenter.answer_resume("anew")
    wait_idle(qtbot, presenter)
    assert heard.finished[-1]["status"] == "completed" and not heard.finished[-1]["resumed"]


def test_a_notice_comes_once_the_thread_has_ended(qtbot: Any, tmp_path: Path, db: Database) -> None:
    presenter, heard = make(qtbot)
    presenter.start(str(write_bad_export(tmp_path / "bad.json")), db.url)
    qtbot.waitUntil(lambda: heard.notices != [], timeout=FINISH_MS)
    (notice, busy) = heard.notices[0]
    assert notice.kind == "errors" and notice.count == 9 and notice.completed
    assert not busy, "shown only once the import's thread has ended"
    broken = tmp_path / "photo.tar"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 1000)
    presenter.start(str(broken), db.url)
    qtbot.waitUntil(lambda: len(heard.notices) == 2, timeout=FINISH_MS)
    notice, busy = heard.notices[1]
    assert notice.kind == "problem" and "not a Skype export" in notice.text and not busy
    assert presenter.state == "idle"


def test_a_bad_database_url_is_a_notice_not_an_exception(qtbot: Any, export: tuple[Path, SampleStats]) -> None:
    presenter, heard = make(qtbot)
    assert not presenter.start(str(export[0]), "mysql://me:secret@host/db")
    (notice, _), *_ = heard.notices
    assert "unsupported" in notice.text and "secret" not in notice.text and presenter.state == "idle"


def test_pause_holds_then_resume_finishes(qtbot: Any, export: tuple[Path, SampleStats], db: Database) -> None:
    presenter, heard = make(qtbot, batch_size=200)
    presenter.start(str(export[0]), db.url)
    qtbot.waitUntil(lambda: presenter.state == "running" and presenter.run_id is not None, timeout=FINISH_MS)
    presenter.toggle_pause()
    assert presenter.paused
    qtbot.waitUntil(lambda: presenter.state == "holding", timeout=FINISH_MS)
    presenter.toggle_pause()
    assert presenter.state == "running" and not presenter.paused
    wait_idle(qtbot, presenter)
    assert "holding" in heard.states and heard.finished[-1]["status"] == "completed"


def test_cancel_stops_and_what_is_committed_stays(qtbot: Any, export: tuple[Path, SampleStats], db: Database) -> None:
    presenter, heard = make(qtbot, batch_size=200)
    presenter.start(str(export[0]), db.url)
    qtbot.waitUntil(lambda: presenter.run_id is not None, timeout=FINISH_MS)
    presenter.cancel()
    assert presenter.state == "stopping"
    wait_idle(qtbot, presenter)
    assert heard.finished[-1]["status"] == "cancelled" and heard.states[-2:] == ["stopping", "finished"]
    assert db.one("SELECT status FROM etl_runs") == "cancelled"


def test_closing_waits_for_every_job(qtbot: Any, export: tuple[Path, SampleStats], db: Database) -> None:
    presenter, heard = make(qtbot, batch_size=200)
    presenter.start(str(export[0]), db.url)
    qtbot.waitUntil(lambda: presenter.run_id is not None, timeout=FINISH_MS)
    with qtbot.waitSignal(presenter.closable, timeout=FINISH_MS):
        assert not presenter.request_close()
        assert presenter.closing and presenter.state == "stopping"
    assert not Job.running() and presenter.request_close()
    assert heard.notices == [], "no box while closing"
    assert db.one("SELECT status FROM etl_runs") == "cancelled"


def test_a_stale_preview_never_overwrites_a_newer_one(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow preview of the export chosen before answers after the one chosen since: it is dropped."""
    from skype_etl_gui.gui import work

    first = tmp_path / "first.json"
    write_sample(first, messages=500, seed=52)
    second = tmp_path / "second.json"
    second_stats = write_sample(second, messages=300, seed=53)
    release = threading.Event()
    real = work.preview_export

    def preview(handle: Any, path: str) -> dict[str, Any]:
        if path != str(first):
            return real(handle, path)
        found = real(handle, path)  # the whole answer, held back: a slow disk, a big file
        handle.emit(dict(found, complete=False, percent=50))
        release.wait(30)
        handle.emit(dict(found, complete=False, percent=90))
        return found

    monkeypatch.setattr(work, "preview_export", preview)
    presenter, heard = make(qtbot)
    presenter.export_changed(str(first))
    qtbot.waitUntil(lambda: any("50%" in t for t in heard.previews), timeout=FINISH_MS)
    presenter.export_changed(str(second))
    wanted = f"{second_stats.messages:,} messages"
    qtbot.waitUntil(lambda: any(wanted in t and "so far" not in t for t in heard.previews), timeout=FINISH_MS)
    shown = heard.previews[-1]
    release.set()
    qtbot.waitUntil(lambda: not Job.running(), timeout=FINISH_MS)
    qtbot.wait(50)
    assert heard.previews[-1] == shown and wanted in shown
    assert not any("90%" in t for t in heard.previews), "the first export's late answers were dropped"


def test_a_lost_database_shows_as_reconnecting(qtbot: Any) -> None:
    """The import's reporter turns a ConnectionLost warning into the reconnecting state, and progress ends it."""
    from skype_etl_gui.etl.records import ErrorRecord
    from skype_etl_gui.gui import work

    class Handle:
        def __init__(self) -> None:
            self.sent: list[Any] = []

        def emit(self, value: Any) -> None:
            self.sent.append(value)

    class Pipeline:
        is_holding = False

    handle = Handle()
    reporter = work._Reporter(handle, Pipeline())  # type: ignore[arg-type]
    reporter.on_error(ErrorRecord("load", "warning", "ConnectionLost", "lost the database; reconnecting, try 1"))
    assert ("state", "reconnecting") in handle.sent
    presenter, heard = make(qtbot)
    presenter.state = "running"
    presenter._on_import_event(("state", "reconnecting"))
    assert presenter.state == "reconnecting" and presenter.importing
    presenter._on_import_event(("state", "running"))
    assert heard.states == ["reconnecting", "running"]


def test_the_status_line_counts_the_media_as_they_are_stored(qtbot: Any) -> None:
    presenter, _ = make(qtbot)
    said: list[str] = []
    presenter.status.connect(said.append)
    presenter.state = "running"
    progress = {"messages": 10, "conversations": 2, "rate": 5.0, "eta_s": 3.0, "percent": 50.0}
    presenter._on_import_event(("progress", progress))
    assert "media" not in said[-1]
    presenter._on_import_event(("progress", {**progress, "media_files": 3, "media_bytes": 2_500_000}))
    assert said[-1].endswith("· 3 media files (2.4 MB stored)")
