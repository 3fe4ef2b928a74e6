"""The real window, driven with pytest-qt (offscreen): import, pause, cancel, resume, errors, closing."""

from __future__ import annotations

import os
import re
import shutil
import stat
import time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMessageBox, QProgressBar, QPushButton, QTableView

from skype_etl_gui.etl import ETLPipeline, liveness
from skype_etl_gui.gui.jobs import Job
from skype_etl_gui.gui.main_window import MainWindow
from skype_etl_gui.sample import SampleStats, write_sample
from tests.conftest import Database, conversation, export_document, held_import, message, write_export
from tests.gui.conftest import stop_jobs

FINISH_MS = 120_000


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SampleStats]:
    path = tmp_path_factory.mktemp("gui") / "export.tar"
    return path, write_sample(path, messages=6000, seed=44)


def make_window(qtbot: Any, export_path: Path, db: Database, batch_size: int = 5000) -> MainWindow:
    window = MainWindow(export_path=str(export_path), database_url=db.url)
    window.batch_size = batch_size
    # a test that ends mid-run: stop the import first, so closing asks nothing
    qtbot.addWidget(window, before_close_func=stop_jobs)
    window.show()
    return window


def answer_resume(monkeypatch: pytest.MonkeyPatch, choice: str, asked: list[int] | None = None) -> None:
    """The resume offer, answered at once with `choice` (the box itself is tested on its own)."""

    def ask(window: MainWindow, done: int) -> None:
        if asked is not None:
            asked.append(done)
        window.presenter.answer_resume(choice)

    monkeypatch.setattr(MainWindow, "ask_resume", ask)


def button(window: MainWindow, name: str) -> QPushButton:
    found = window.findChild(QPushButton, name)
    assert found is not None, name
    return found


def run_to_end(qtbot: Any, window: MainWindow) -> dict[str, Any]:
    with qtbot.waitSignal(window.import_finished, timeout=FINISH_MS) as finished:
        qtbot.mouseClick(button(window, "startButton"), Qt.MouseButton.LeftButton)
    # the buttons come back once the import's thread has ended
    qtbot.waitUntil(lambda: button(window, "startButton").isEnabled(), timeout=FINISH_MS)
    return finished.args[0]


def problem(qtbot: Any, window: MainWindow) -> QMessageBox:
    """The failure box, once it shows (after the job's thread has ended)."""
    qtbot.waitUntil(lambda: window.problem_box is not None and window.problem_box.isVisible(), timeout=FINISH_MS)
    assert window.problem_box is not None
    return window.problem_box


def test_contract_object_names(qtbot: Any, export: tuple[Path, SampleStats], db: Database) -> None:
    window = make_window(qtbot, export[0], db)
    for name in ("startButton", "pauseButton", "cancelButton", "errorLogButton"):
        button(window, name)
    assert window.findChild(QProgressBar, "progressBar") is not None


def test_import_to_the_end(qtbot: Any, export: tuple[Path, SampleStats], db: Database) -> None:
    path, stats = export
    window = make_window(qtbot, path, db)
    summary = run_to_end(qtbot, window)
    assert summary["status"] == "completed"
    bar = window.findChild(QProgressBar, "progressBar")
    assert bar.value() == bar.maximum()
    assert "Done: " in window.summary_label.text() and f"{summary['messages']:,}" in window.summary_label.text()
    assert f" s into {db.path}." in window.summary_label.text()  # the local database by its file, not its URL
    media = summary["media"]  # the sample's media files: some there, some expired
    assert f"Media: {stats.media_files:,} files" in window.summary_label.text()
    assert f"{media['missing']:,} expired" in window.summary_label.text() and media["missing"] > 0
    assert db.count("messages") == stats.unique_messages
    assert window.memory_series.count() > 0 and "Memory:" in window.memory_label.text()
    # the limit is a line across the chart however few samples there are; a lone sample shows as a dot
    panel = window.progress_panel
    limit = [(p.x(), p.y()) for p in panel.limit_series.points()]
    assert len(limit) == 2 and limit[0][1] == limit[1][1] == window.presenter.memory_limit_mb
    assert (limit[0][0], limit[1][0]) == (panel.memory_x.min(), panel.memory_x.max())
    assert panel.memory_series.pointsVisible() == (panel.memory_series.count() < 2)
    assert button(window, "startButton").isEnabled() and not button(window, "pauseButton").isEnabled()


def test_pause_writes_nothing_then_resume_finishes(qtbot: Any, export: tuple[Path, SampleStats], db: Database) -> None:
    window = make_window(qtbot, export[0], db, batch_size=200)
    with qtbot.waitSignal(window.import_finished, timeout=FINISH_MS) as finished:
        qtbot.mouseClick(button(window, "startButton"), Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: db.exists() and _count(db) > 0, timeout=FINISH_MS)
        qtbot.mouseClick(button(window, "pauseButton"), Qt.MouseButton.LeftButton)
        assert button(window, "pauseButton").text() == "&Resume"
        assert window.presenter.pipeline is not None
        qtbot.waitUntil(lambda: window.presenter.pipeline.is_holding, timeout=10_000)
        qtbot.waitUntil(lambda: window.presenter.state == "holding", timeout=10_000)
        qtbot.waitUntil(lambda: window.progress_bar.value() > 0, timeout=5_000)  # progress has risen
        assert window.progress_bar.value() < window.progress_bar.maximum()
        held = _count(db)
        qtbot.wait(400)  # the event loop runs on; the import must not
        assert _count(db) == held and window.is_running()
        qtbot.waitUntil(lambda: window.status_label.text().startswith("Paused"), timeout=5_000)
        qtbot.mouseClick(button(window, "pauseButton"), Qt.MouseButton.LeftButton)
    assert finished.args[0]["status"] == "completed"
    assert db.count("messages") == export[1].unique_messages


def test_pause_holds_the_media_step_then_resume_stores_the_rest(
    qtbot: Any, db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An export whose media come first: Pause in the middle of its files stores no more of them until Resume,
    and the window says it is paused; then every file is stored."""
    from skype_etl_gui.etl.extract.media import MediaEntry
    from skype_etl_gui.etl.run import media
    from tests.etl.test_media import media_members, messages_json, write_tar

    docs = {f"0-weu-d3-{i}": (f"photo{i}.png", "image/png", bytes([i]) * (1 << 20)) for i in range(12)}
    path = write_tar(tmp_path / "media-first.tar", [*media_members(docs), ("messages.json", messages_json())])
    read = MediaEntry.chunks

    def slowly(self: MediaEntry, stop: Any = None) -> Any:
        time.sleep(0.1)  # a file at a time, slow enough to press Pause among them
        yield from read(self, stop)

    monkeypatch.setattr(MediaEntry, "chunks", slowly)
    monkeypatch.setattr(media, "FILES_A_TRANSACTION", 2)  # a file and its sidecar: each file seen as it is stored
    window = make_window(qtbot, path, db)
    with qtbot.waitSignal(window.import_finished, timeout=FINISH_MS) as finished:
        qtbot.mouseClick(button(window, "startButton"), Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: _count(db, "media_files") > 0, timeout=FINISH_MS)
        qtbot.mouseClick(button(window, "pauseButton"), Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: window.presenter.state == "holding", timeout=10_000)
        held = _count(db, "media_files")
        assert 0 < held < len(docs)
        qtbot.wait(600)  # several files' time: none is stored
        assert _count(db, "media_files") == held and window.is_running()
        qtbot.waitUntil(lambda: window.status_label.text().startswith("Paused"), timeout=5_000)
        qtbot.mouseClick(button(window, "pauseButton"), Qt.MouseButton.LeftButton)
    summary = finished.args[0]
    assert summary["status"] == "completed", summary["error"]
    assert _count(db, "media_files") == len(docs) and summary["media"]["files"] == len(docs)


def test_cancel_then_resume_from_the_checkpoint(
    qtbot: Any, export: tuple[Path, SampleStats], db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = Database(tmp_path / "reference.db")
    ETLPipeline(reference.url).run(export[0])
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    asked: list[int] = []
    answer_resume(monkeypatch, "resume", asked)
    window = make_window(qtbot, export[0], db, batch_size=200)
    with qtbot.waitSignal(window.import_finished, timeout=FINISH_MS) as first:
        qtbot.mouseClick(button(window, "startButton"), Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: db.exists() and _count(db) > 0, timeout=FINISH_MS)
        qtbot.mouseClick(button(window, "cancelButton"), Qt.MouseButton.LeftButton)
    assert first.args[0]["status"] == "cancelled"
    assert "resume" in window.summary_label.text().lower()
    qtbot.waitUntil(lambda: not window.is_running(), timeout=FINISH_MS)
    second = run_to_end(qtbot, window)
    assert asked and asked[0] > 0, "the window offered to resume"
    assert second["status"] == "completed" and second["resumed"] and second["messages_skipped"] == asked[0]
    assert "Resumed" in window.summary_label.text()
    assert db.snapshot() == reference.snapshot()


def test_errors_reach_the_count_and_the_log(qtbot: Any, tmp_path: Path, db: Database) -> None:
    bad = [message("1"), "junk", message(None), message("2", originalarrivaltime="soon")]
    path = write_export(tmp_path / "bad.json", export_document([conversation("8:a", bad)]))
    window = make_window(qtbot, path, db)
    summary = run_to_end(qtbot, window)
    assert summary["errors"] == 3
    assert button(window, "errorLogButton").text() == "&Errors: 3"
    qtbot.mouseClick(button(window, "errorLogButton"), Qt.MouseButton.LeftButton)
    table = window.error_log.findChild(QTableView, "errorTable")
    assert table is not None
    qtbot.waitUntil(lambda: table.model().rowCount() == 3, timeout=10_000)  # read by a job


def test_a_bad_export_is_a_clear_message(qtbot: Any, tmp_path: Path, db: Database) -> None:
    path = tmp_path / "photo.tar"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 1000)
    window = make_window(qtbot, path, db)
    qtbot.mouseClick(button(window, "startButton"), Qt.MouseButton.LeftButton)
    box = problem(qtbot, window)
    assert "not a Skype export" in box.text()
    assert "Traceback" not in box.text() and not window.is_running()
    assert window.status_label.text() == "Could not import." and button(window, "startButton").isEnabled()
    assert not db.exists()


def test_closing_during_a_run_stops_cleanly(
    qtbot: Any, export: tuple[Path, SampleStats], db: Database, monkeypatch: pytest.MonkeyPatch, capfd: Any
) -> None:
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    window = make_window(qtbot, export[0], db, batch_size=200)
    qtbot.mouseClick(button(window, "startButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: db.exists() and _count(db) > 0, timeout=FINISH_MS)
    assert not window.close(), "the window waits for the import to stop"
    assert window.isVisible() and window.status_label.text() == "Stopping…"
    assert not button(window, "startButton").isEnabled()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=FINISH_MS)  # it closes itself once stopped
    assert [job.objectName() for job in Job.running()] in ([], ["settings"])  # the window's size, written last
    assert db.one("SELECT status FROM etl_runs") == "cancelled"
    assert "Destroyed while thread" not in capfd.readouterr().err


def test_gui_thread_never_stalls(qtbot: Any, tmp_path: Path, db: Database) -> None:
    """A 10 ms timer keeps firing during a 300,000-message import: no gap over 50 ms."""
    path = tmp_path / "big.tar"
    write_sample(path, messages=300_000, seed=45, media=False)
    window = make_window(qtbot, path, db)
    gaps: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    # what the window does as it opens (the preview; for PostgreSQL, asking for a keyring, whose first imports hold
    # the interpreter lock for tens of ms) is done first: measured here is the import
    qtbot.waitUntil(lambda: not Job.running(), timeout=30_000)
    with qtbot.waitSignal(window.import_finished, timeout=FINISH_MS) as finished:
        qtbot.mouseClick(button(window, "startButton"), Qt.MouseButton.LeftButton)
        last[0] = time.perf_counter()
        timer.start()
    timer.stop()
    assert finished.args[0]["status"] == "completed"
    assert len(gaps) > 100
    assert max(gaps) <= 0.050, f"longest stall {max(gaps) * 1000:.0f} ms"


def _count(db: Database, table: str = "messages") -> int:
    try:
        return db.count(table)
    except Exception:  # noqa: BLE001 - the schema may not exist yet
        return 0


def test_preview_of_the_chosen_export(qtbot: Any, export: tuple[Path, SampleStats], db: Database) -> None:
    path, stats = export
    window = make_window(qtbot, path, db)
    qtbot.waitUntil(
        lambda: "conversations" in window.preview_label.text() and "Reading" not in window.preview_label.text(),
        timeout=30_000,
    )
    text = window.preview_label.text()
    assert f"{stats.conversations:,} conversations, {stats.messages:,} messages" in text and "(tar)" in text
    # the sample's photos are 1-pixel PNGs: a few KB in all, not "0.0 MB"
    assert re.search(rf"; {stats.media_files:,} media files \(\d+\.\d KB\)", text), text
    window.export_edit.setText(str(path.parent / "missing.tar"))
    qtbot.waitUntil(lambda: "no such file" in window.preview_label.text(), timeout=10_000)


def test_preview_of_a_tar_gz_counts_its_media(qtbot: Any, tmp_path: Path, db: Database) -> None:
    """gzip has no index: the preview reads the stream once, the messages parsed and the media counted as they
    come, and says how far into the file it is."""
    from skype_etl_gui.gui.presenters.main import preview_text

    path = tmp_path / "export.tar.gz"
    stats = write_sample(path, messages=3000, seed=45)
    window = make_window(qtbot, path, db)
    qtbot.waitUntil(lambda: "media files" in window.preview_label.text(), timeout=30_000)
    qtbot.waitUntil(lambda: not window.preview_label.text().startswith("Reading"), timeout=30_000)
    text = window.preview_label.text()
    assert f"{stats.messages:,} messages" in text and "(tar.gz)" in text
    assert f"; {stats.media_files:,} media files" in text
    reading = {"conversations": 2, "messages": 5, "size": 1 << 20, "kind": "tar.gz", "percent": 40.2}
    reading.update(media_files=3, media_bytes=1 << 20)
    assert preview_text(reading) == (
        "Reading… 40%: so far 2 conversations, 5 messages; 1.0 MB (tar.gz); 3 media files (1.0 MB)"
    )


def test_connection_test_off_the_gui_thread(
    qtbot: Any, export: tuple[Path, SampleStats], db: Database, pg_server: Any, pg_db: Any
) -> None:
    window = make_window(qtbot, export[0], db)
    window.set_database_url(pg_db.url)
    assert window.postgres_radio.isChecked() and window.pg_database.text() == pg_db.name
    qtbot.mouseClick(window.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.test_result.text().startswith("✓"), timeout=20_000)
    window.pg_password.setText("wrong-password")
    qtbot.waitUntil(lambda: window.test_button.isEnabled(), timeout=20_000)
    qtbot.mouseClick(window.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.test_result.text().startswith("✗"), timeout=20_000)
    assert "password authentication failed" in window.test_result.text()
    assert "wrong-password" not in window.test_result.text()


def test_postgres_import_from_the_window(
    qtbot: Any, export: tuple[Path, SampleStats], db: Database, pg_db: Any
) -> None:
    window = make_window(qtbot, export[0], db)
    window.set_database_url(pg_db.url)
    summary = run_to_end(qtbot, window)
    assert summary["status"] == "completed" and "***" in summary["database"]
    assert pg_db.count("messages") == export[1].unique_messages
    qtbot.waitUntil(lambda: not Job.running(), timeout=10_000)  # the settings are written by a job
    stored = Path(window.settings.fileName()).read_text()
    assert pg_db.name in stored and "test-superuser-pw" not in stored


class MemoryKeyring:
    """A system keyring stand-in that lives in this test's memory (a real keyring backend class)."""

    @staticmethod
    def make() -> Any:
        from keyring.backend import KeyringBackend

        class Backend(KeyringBackend):
            priority = 1  # type: ignore[assignment]

            def __init__(self) -> None:
                super().__init__()
                self.items: dict[tuple[str, str], str] = {}

            def get_password(self, service: str, username: str) -> str | None:
                return self.items.get((service, username))

            def set_password(self, service: str, username: str, password: str) -> None:
                self.items[(service, username)] = password

            def delete_password(self, service: str, username: str) -> None:
                self.items.pop((service, username), None)

        return Backend()


def test_password_goes_to_the_keyring_not_the_settings(
    qtbot: Any, export: tuple[Path, SampleStats], db: Database, pg_db: Any
) -> None:
    import keyring

    previous = keyring.get_keyring()
    backend = MemoryKeyring.make()
    keyring.set_keyring(backend)
    try:
        window = make_window(qtbot, export[0], db)
        window.set_database_url(pg_db.url)
        qtbot.waitUntil(lambda: window.keyring_checked, timeout=10_000)  # asked in a job: a keyring can be slow
        assert window.remember_password.isEnabled()
        window.remember_password.setChecked(True)
        assert run_to_end(qtbot, window)["status"] == "completed"
        qtbot.waitUntil(lambda: not Job.running(), timeout=10_000)  # settings and keyring are written by jobs
        assert "test-superuser-pw" in backend.items.values()
        assert "test-superuser-pw" not in Path(window.settings.fileName()).read_text()
        again = MainWindow()
        qtbot.addWidget(again)
        qtbot.waitUntil(lambda: again.pg_password.text() == "test-superuser-pw", timeout=10_000)
        assert again.postgres_radio.isChecked() and again.remember_password.isChecked()
    finally:
        keyring.set_keyring(previous)


def test_without_a_keyring_nothing_is_remembered(qtbot: Any, export: tuple[Path, SampleStats], db: Database) -> None:
    import keyring
    from keyring.backends import fail

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        window = make_window(qtbot, export[0], db)
        window.postgres_radio.setChecked(True)
        qtbot.waitUntil(lambda: window.keyring_checked, timeout=10_000)
        assert not window.remember_password.isEnabled()
        assert "No system keyring" in window.remember_password.toolTip()
    finally:
        keyring.set_keyring(previous)


def test_the_keyring_is_asked_once_postgresql_is_chosen(
    qtbot: Any, export: tuple[Path, SampleStats], db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A local database needs no keyring: the window opens without asking one (its first use imports modules the
    window would feel); choosing PostgreSQL asks it, once."""
    from skype_etl_gui.gui import work

    asked: list[str | None] = []
    ask = work.keyring_state

    def counting(handle: Any, account: str | None) -> tuple[bool, str | None]:
        asked.append(account)
        return ask(handle, account)

    monkeypatch.setattr(work, "keyring_state", counting)
    window = make_window(qtbot, export[0], db)
    qtbot.waitUntil(lambda: not Job.running(), timeout=10_000)
    assert asked == [] and not window.keyring_checked
    for _ in range(2):
        window.postgres_radio.setChecked(True)
        qtbot.waitUntil(lambda: window.keyring_checked, timeout=10_000)
        window.local_radio.setChecked(True)
    assert len(asked) == 1


def test_settings_stay_in_the_test_folder(
    qtbot: Any, export: tuple[Path, SampleStats], db: Database, tmp_path: Path
) -> None:
    window = make_window(qtbot, export[0], db)
    window.close()  # at once, or once the jobs it started (the keyring, the preview) have ended
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    stop_jobs()
    settings = Path(window.settings.fileName())
    assert settings.is_relative_to(tmp_path) and "geometry" in settings.read_text()
    if os.name == "posix":  # it names the exports and databases a person uses: owner-only
        assert stat.S_IMODE(settings.stat().st_mode) == 0o600
        assert stat.S_IMODE(settings.parent.stat().st_mode) == 0o700


def test_every_database_parameter_is_kept(qtbot: Any, pg_db: Any) -> None:
    """--db as a URI with parameters, or as a libpq key=value string: nothing of it is lost."""
    from skype_etl_gui.etl.urls import dsn_fields, parse_database_url

    window = MainWindow(database_url=pg_db.url + "?connect_timeout=5&application_name=skype-test&sslmode=disable")
    qtbot.addWidget(window, before_close_func=stop_jobs)
    assert window.postgres_radio.isChecked() and window.pg_sslmode.currentText() == "disable"
    assert dsn_fields(window.pg_options.text()) == {"connect_timeout": "5", "application_name": "skype-test"}
    sent = dsn_fields(parse_database_url(window.database()).dsn or "")
    assert sent["connect_timeout"] == "5" and sent["application_name"] == "skype-test"
    assert sent["dbname"] == pg_db.name and sent["password"] == "test-superuser-pw"
    port = pg_db.server.port
    dsn = f"host=127.0.0.1 port={port} dbname={pg_db.name} user=postgres password=test-superuser-pw application_name='my app'"
    other = MainWindow(database_url=dsn)
    qtbot.addWidget(other, before_close_func=stop_jobs)
    assert other.pg_host.text() == "127.0.0.1" and other.pg_port.value() == port and other.pg_user.text() == "postgres"
    assert dsn_fields(other.pg_options.text()) == {"application_name": "my app"}
    qtbot.mouseClick(other.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: other.test_result.text().startswith(("✓", "✗")), timeout=20_000)
    assert other.test_result.text() == "✓ Connected"
    # the settings keep the parameters, never a password given in them
    other.pg_options.setText("application_name='my app' password=hidden")
    assert "hidden" not in str(other.database_panel.settings_values())


def test_a_bad_db_is_a_message_in_the_window(qtbot: Any) -> None:
    window = MainWindow(database_url="mysql://me:s3cret@host/db")
    qtbot.addWidget(window, before_close_func=stop_jobs)
    window.show()
    box = problem(qtbot, window)
    assert "unsupported" in box.text() and "s3cret" not in box.text()
    assert window.local_radio.isChecked(), "the window opens on its own choice"
    window.postgres_radio.setChecked(True)
    window.pg_options.setText("this is = not = libpq")
    window.test_connection()
    assert window.test_result.text().startswith("✗") and "key=value" in window.test_result.text()


# --- reprocessing the archive ---------------------------------------------------------------------------
V010_ARCHIVE = Path(__file__).resolve().parent.parent / "data" / "v0.1.0" / "archive.db"


def start_reprocess(qtbot: Any, window: MainWindow) -> None:
    """File > Reprocess archive…, then the box's Reprocess button, as a person does it."""
    action = window.findChild(QAction, "reprocessAction")
    assert action is not None and action.isEnabled()
    action.trigger()
    qtbot.waitUntil(lambda: window.reprocess_box is not None and window.reprocess_box.isVisible(), timeout=10_000)
    box = window.reprocess_box
    assert box is not None and "the export is not needed" in box.informativeText()
    next(b for b in box.buttons() if b.text() == "&Reprocess").click()


def test_reprocess_from_the_menu(qtbot: Any, tmp_path: Path) -> None:
    db = Database(tmp_path / "old.db")
    shutil.copy(V010_ARCHIVE, db.path)
    window = make_window(qtbot, tmp_path / "no-export.tar", db)
    seen: list[int] = []
    window.progress_bar.valueChanged.connect(seen.append)
    with qtbot.waitSignal(window.reprocess_finished, timeout=FINISH_MS) as finished:
        start_reprocess(qtbot, window)
        assert not window.findChild(QAction, "reprocessAction").isEnabled()  # one job at a time
    summary = finished.args[0]
    assert (summary["status"], summary["messages"]) == ("completed", 399)
    qtbot.waitUntil(lambda: not window.is_running(), timeout=FINISH_MS)
    assert window.progress_bar.value() == 1000 and seen
    assert window.summary_label.text().startswith("Reprocessed 399 messages")
    assert window.status_label.text() == "Finished."
    assert window.findChild(QAction, "reprocessAction").isEnabled()
    assert not button(window, "cancelButton").isEnabled()
    assert db.one("SELECT count(*) FROM participants WHERE substr(participant_id, 1, 3) = '19:'") == 0


def test_reprocess_can_be_cancelled_and_continued(qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from skype_etl_gui.etl.run import reprocess as reprocessing

    db = Database(tmp_path / "old.db")
    shutil.copy(V010_ARCHIVE, db.path)
    monkeypatch.setattr(reprocessing.Reprocess.__init__, "__defaults__", (None, 10, None))  # 40 pages
    real = reprocessing.Rederiver._report

    def slowly(self: Any, *args: Any) -> None:
        real(self, *args)
        time.sleep(0.05)

    monkeypatch.setattr(reprocessing.Rederiver, "_report", slowly)
    window = make_window(qtbot, tmp_path / "no-export.tar", db)
    with qtbot.waitSignal(window.reprocess_finished, timeout=FINISH_MS) as finished:
        start_reprocess(qtbot, window)
        qtbot.waitUntil(lambda: window.progress_bar.value() > 0, timeout=FINISH_MS)
        assert button(window, "cancelButton").isEnabled()
        assert not button(window, "startButton").isEnabled()
        qtbot.mouseClick(button(window, "cancelButton"), Qt.MouseButton.LeftButton)  # no question: nothing is lost
    assert finished.args[0]["status"] == "cancelled"
    qtbot.waitUntil(lambda: not window.is_running(), timeout=FINISH_MS)
    assert "Reprocess again to continue" in window.summary_label.text()
    monkeypatch.setattr(reprocessing.Rederiver, "_report", real)
    with qtbot.waitSignal(window.reprocess_finished, timeout=FINISH_MS) as again:
        start_reprocess(qtbot, window)
    assert (again.args[0]["status"], again.args[0]["resumed"], again.args[0]["messages"]) == ("completed", True, 399)


def test_reprocess_of_a_missing_database_is_one_clear_message(qtbot: Any, tmp_path: Path) -> None:
    db = Database(tmp_path / "never-made.db")
    window = make_window(qtbot, tmp_path / "no-export.tar", db)
    start_reprocess(qtbot, window)
    box = problem(qtbot, window)
    assert "no such database" in box.text()
    assert not db.exists()


def test_the_same_export_being_imported_by_a_live_process_is_refused(
    qtbot: Any, export: tuple[Path, SampleStats], db: Database
) -> None:
    """Another import of this export holds (paused, alive): Start says who imports it, and writes nothing."""
    with held_import(db.url, export[0], batch_size=100):
        before = db.snapshot(), db.count("etl_runs")
        window = make_window(qtbot, export[0], db)
        qtbot.mouseClick(button(window, "startButton"), Qt.MouseButton.LeftButton)
        box = problem(qtbot, window)
        assert f"process {os.getpid()} on {liveness.HOST} is importing this export" in box.text()
        assert (db.snapshot(), db.count("etl_runs")) == before


def test_an_archive_of_an_earlier_version_is_updated_with_progress(qtbot: Any, tmp_path: Path) -> None:
    db = Database(tmp_path / "old.db")
    shutil.copy(V010_ARCHIVE, db.path)
    window = make_window(qtbot, V010_ARCHIVE.parent / "export-b.json", db)
    said: list[str] = []
    window.presenter.status.connect(said.append)
    summary = run_to_end(qtbot, window)
    assert summary["status"] == "completed"
    steps = [text for text in said if text.startswith("Updating the archive made by an earlier version")]
    assert any("messages (" in text for text in steps) and steps[-1].endswith("search index (11 of 11)…")
    assert db.one("SELECT max(version) FROM schema_version") == 5
