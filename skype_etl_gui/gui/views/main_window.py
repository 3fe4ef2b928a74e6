"""The main window: the export, database and progress panels, the buttons, the menus and the boxes.

It only shows what its presenter (presenters/main.py) says and passes on what
the person does; every file, database and keyring call runs in a background job.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, QUrl, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QMainWindow, QMessageBox, QVBoxLayout, QWidget

from ... import __version__, applog
from ...etl.errors import DatabaseUrlError
from ...etl.urls import parse_database_url
from ...paths import log_dir
from .. import work
from ..jobs import Job
from ..presenters.main import CHECKING, REPROCESSING, STOPPING, MainPresenter, Notice
from ..widgets import push_button

# the windows it opens, imported with it: the browser's modules took 38 ms to import, which the first Ctrl+B
# would spend on the GUI thread (over 60 ms while an import runs); at start, no window is up to feel it
from .archive_browser import LAST_CONVERSATION, ArchiveBrowserWindow
from .error_log import ErrorLogWindow
from .panels import DatabasePanel, ExportPanel, ProgressPanel
from .run_history import RunHistoryWindow

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    import_finished = Signal(object)  # the summary, or {"status": "failed", "error": ...} when it could not run
    reprocess_finished = Signal(object)  # the same, for a reprocess of the archive

    def __init__(self, export_path: str | None = None, database_url: str | None = None) -> None:
        super().__init__()
        self.setWindowTitle("Skype Export Importer")
        self.setAcceptDrops(True)
        self.presenter = MainPresenter(parent=self)
        # an INI file in the user's config folder on every platform (and a test can point it elsewhere); read
        # here, once, before the window shows; written by a job
        self.settings = QSettings(
            QSettings.Format.IniFormat, QSettings.Scope.UserScope, "skype-etl-gui", "skype-etl-gui"
        )
        self.error_log: ErrorLogWindow | None = None
        self.run_history: RunHistoryWindow | None = None
        self.archive_browser: ArchiveBrowserWindow | None = None
        self.problem_box: QMessageBox | None = None  # the last failure shown
        self.error_offer: QMessageBox | None = None  # the last "show the error log?" offer
        self.resume_box: QMessageBox | None = None  # the open "resume?" question
        self.reprocess_box: QMessageBox | None = None  # the open "reprocess?" question
        self._notice_box: QMessageBox | None = None  # the box shown now, if any
        self._build()
        self._connect()
        remember = self._restore_settings()
        if export_path:
            self.export_edit.setText(str(export_path))
        if database_url:
            try:
                self.database_panel.set_database_url(database_url)
            except DatabaseUrlError as exc:  # a message in the window, once it shows
                notice = Notice("problem", str(exc))
                QTimer.singleShot(0, lambda: self.presenter.notice.emit(notice))
        self._remembering = remember
        self._keyring_job: Job | None = None
        self.postgres_radio.toggled.connect(self._keyring_when_chosen)
        self._keyring_when_chosen(self.postgres_radio.isChecked())
        self._update_buttons()

    # --- layout --------------------------------------------------------------------------------------------
    def _build(self) -> None:
        central = QWidget()
        layout = QVBoxLayout(central)
        self.export_panel = ExportPanel()
        self.database_panel = DatabasePanel()
        self.progress_panel = ProgressPanel()
        layout.addWidget(self.export_panel)
        layout.addWidget(self.database_panel)
        layout.addLayout(self._buttons())
        layout.addWidget(self.progress_panel, 1)
        self.setCentralWidget(central)
        self._menus()
        # the widgets people (and tests) reach for, by the names they had
        self.export_edit = self.export_panel.edit
        self.preview_label = self.export_panel.preview_label
        panel = self.database_panel
        self.local_radio, self.postgres_radio, self.local_path = (
            panel.local_radio,
            panel.postgres_radio,
            panel.local_path,
        )
        self.pg_host, self.pg_port, self.pg_database = panel.pg_host, panel.pg_port, panel.pg_database
        self.pg_user, self.pg_password, self.pg_sslmode = panel.pg_user, panel.pg_password, panel.pg_sslmode
        self.pg_options, self.remember_password = panel.pg_options, panel.remember_password
        self.test_button, self.test_result = panel.test_button, panel.test_result
        progress = self.progress_panel
        self.progress_bar, self.status_label, self.summary_label = (
            progress.bar,
            progress.status_label,
            progress.summary_label,
        )
        self.memory_label, self.memory_series = progress.memory_label, progress.memory_series

    def _buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.start_button = push_button("&Start", "startButton", self.start)
        self.start_button.setShortcut(QKeySequence("Ctrl+Return"))
        self.pause_button = push_button("&Pause", "pauseButton", self.presenter.toggle_pause)
        self.cancel_button = push_button("&Cancel", "cancelButton", self.ask_cancel)
        self.error_button = push_button(
            "&Errors: 0", "errorLogButton", self.show_error_log, "Every record skipped or repaired, and every failure"
        )
        self.history_button = push_button(
            "H&istory",
            "historyButton",
            self.show_run_history,
            "Every import into this database, and Resume for unfinished ones",
        )
        self.archive_button = push_button(
            "&Archive", "archiveButton", self.show_archive, "Browse and search the archive in this database (Ctrl+B)"
        )
        for button in (self.start_button, self.pause_button, self.cancel_button):
            row.addWidget(button)
        row.addStretch(1)
        row.addWidget(self.archive_button)
        row.addWidget(self.history_button)
        row.addWidget(self.error_button)
        return row

    def _menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        open_action = QAction("&Open export…", self)
        open_action.setShortcut(QKeySequence.StandardKey.Open)
        open_action.triggered.connect(self.export_panel.choose)
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        self.reprocess_action = QAction("&Reprocess archive…", self)
        self.reprocess_action.setObjectName("reprocessAction")
        self.reprocess_action.setStatusTip("Re-read every stored message with this version's rules; no export needed")
        self.reprocess_action.triggered.connect(self.ask_reprocess)
        file_menu.addAction(open_action)
        file_menu.addAction(self.reprocess_action)
        file_menu.addSeparator()
        file_menu.addAction(quit_action)
        view_menu = self.menuBar().addMenu("&View")
        errors_action = QAction("&Error log", self)
        errors_action.setShortcut(QKeySequence("Ctrl+E"))
        errors_action.triggered.connect(lambda: self.show_error_log())
        history_action = QAction("Run &history", self)
        history_action.setShortcut(QKeySequence("Ctrl+H"))
        history_action.triggered.connect(self.show_run_history)
        archive_action = QAction("&Archive (browse and search)", self)
        archive_action.setShortcut(QKeySequence("Ctrl+B"))
        archive_action.triggered.connect(self.show_archive)
        view_menu.addAction(archive_action)
        view_menu.addAction(errors_action)
        view_menu.addAction(history_action)
        help_menu = self.menuBar().addMenu("&Help")
        self.log_folder_action = QAction("Open &log folder", self)
        self.log_folder_action.setObjectName("openLogFolderAction")
        self.log_folder_action.triggered.connect(self.open_log_folder)
        about_action = QAction("&About", self)
        about_action.triggered.connect(self.show_about)
        help_menu.addAction(self.log_folder_action)
        help_menu.addAction(about_action)

    def _connect(self) -> None:
        presenter = self.presenter
        self.export_panel.path_changed.connect(self._export_changed)
        self.database_panel.changed.connect(self._update_buttons)
        self.database_panel.test_requested.connect(self.test_connection)
        presenter.state_changed.connect(self._on_state)
        presenter.status.connect(self.status_label.setText)
        presenter.summary.connect(self.summary_label.setText)
        presenter.progress.connect(self.progress_panel.show_progress)
        presenter.memory.connect(self.progress_panel.show_memory)
        presenter.errors.connect(self._on_errors)
        presenter.preview.connect(self.preview_label.setText)
        presenter.connection.connect(self.test_result.setText)
        presenter.resume_offered.connect(self.ask_resume)
        presenter.notice.connect(self._show_notice)
        presenter.import_finished.connect(self.import_finished)
        presenter.import_finished.connect(self._offer_archive)
        presenter.import_finished.connect(self._browser_after_import)
        presenter.reprocess_finished.connect(self._browser_after_reprocess)
        presenter.reprocess_finished.connect(self.reprocess_finished)
        presenter.closable.connect(self.close)

    # --- what the person does --------------------------------------------------------------------------------
    @property
    def batch_size(self) -> int:
        return self.presenter.batch_size

    @batch_size.setter
    def batch_size(self, value: int) -> None:
        self.presenter.batch_size = value

    def is_running(self) -> bool:
        """A check or an import is under way."""
        return self.presenter.busy

    @Slot(str)
    def _export_changed(self, path: str) -> None:
        self.presenter.export_changed(path)
        self._update_buttons()

    def set_database_url(self, url: str) -> None:
        self.database_panel.set_database_url(url)

    def database(self) -> str | dict[str, Any]:
        return self.database_panel.database()

    @Slot()
    def test_connection(self) -> None:
        try:
            database = self.database()
        except DatabaseUrlError as exc:
            self.test_result.setText(f"✗ {exc}")
            return
        self.presenter.test_connection(database)
        self._update_buttons()

    def start(self, resume: bool | None = None) -> None:
        """Import the chosen export; `resume` None asks when an unfinished run of it exists."""
        export = self.export_panel.path()
        try:
            database = self.database()
        except DatabaseUrlError as exc:
            self._show_notice(Notice("problem", str(exc)))
            return
        self._close_notice()
        if self.presenter.start(export, database, resume):
            self.progress_panel.reset(self.presenter.memory_limit_mb)
            self.error_button.setText("&Errors: 0")
            self._remember(export)

    def resume_run(self, export_path: str) -> None:
        """Resume the unfinished run of this export (from the run history)."""
        if self.is_running():
            self._show_notice(
                Notice("problem", "An import is running: wait for it to end, or cancel it, before resuming another.")
            )
            return
        self.export_edit.setText(export_path)
        self.start(resume=True)

    @Slot(int)
    def ask_resume(self, done: int) -> None:
        """Offer to resume; the answer goes to the presenter (the box does not block the window)."""
        box = QMessageBox(self)
        box.setObjectName("resumeBox")
        box.setWindowTitle("Resume the interrupted import?")
        box.setText(f"This export was being imported into this database and stopped after {done:,} messages.")
        box.setInformativeText("Resume continues from there. Start over reads it all again (nothing is duplicated).")
        resume = box.addButton("&Resume", QMessageBox.ButtonRole.AcceptRole)
        anew = box.addButton("Start &over", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(resume)

        def answered() -> None:
            clicked = box.clickedButton()
            self.resume_box = None
            self.presenter.answer_resume("resume" if clicked is resume else "anew" if clicked is anew else "cancel")

        box.finished.connect(answered)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.resume_box = box
        box.open()

    @Slot()
    def ask_reprocess(self) -> None:
        """Offer to reprocess the chosen database's archive; the box does not block the window."""
        database = self._chosen_database()
        if database is None or self.presenter.busy:
            return
        box = QMessageBox(self)
        box.setObjectName("reprocessBox")
        box.setWindowTitle("Reprocess the archive?")
        box.setText("Read every stored message again with this version's rules?")
        box.setInformativeText(
            "Texts, calls, polls, quotes, reactions, mentions and participants are derived again from what the "
            "archive keeps as Skype wrote it; the export is not needed. Only rows that change are written. "
            "You can cancel at any time and continue later."
        )
        go = box.addButton("&Reprocess", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(go)

        def answered() -> None:
            self.reprocess_box = None
            if box.clickedButton() is go and self.presenter.reprocess(database):
                self.progress_panel.reset(self.presenter.memory_limit_mb)
                self.error_button.setText("&Errors: 0")

        box.finished.connect(answered)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.reprocess_box = box
        box.open()

    @Slot()
    def ask_cancel(self) -> None:
        if self.presenter.state in (CHECKING, REPROCESSING):  # nothing is lost: no need to ask
            self.presenter.cancel()
            return
        if not self.presenter.importing:
            return
        answer = QMessageBox.question(
            self,
            "Cancel the import?",
            "Stop after the current batch? What is imported so far is kept, and you can resume later.",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.presenter.cancel()

    # --- what the presenter says -----------------------------------------------------------------------------
    @Slot(str)
    def _on_state(self, state: str) -> None:
        self._update_buttons()

    @Slot(int)
    def _on_errors(self, count: int) -> None:
        self.error_button.setText(f"&Errors: {count:,}")

    def _update_buttons(self) -> None:
        presenter = self.presenter
        busy = presenter.busy
        self.start_button.setEnabled(not busy and not presenter.closing and bool(self.export_panel.path()))
        self.pause_button.setEnabled(presenter.importing)
        self.pause_button.setText("&Resume" if presenter.paused else "&Pause")
        self.cancel_button.setEnabled(presenter.importing or presenter.state in (CHECKING, REPROCESSING))
        self.reprocess_action.setEnabled(not busy and not presenter.closing)
        self.database_panel.pg_fields.setEnabled(self.postgres_radio.isChecked() and not busy)
        self.test_button.setEnabled(not presenter.testing_connection)

    @Slot(object)
    def _show_notice(self, notice: Notice) -> None:
        if notice.kind == "errors":
            self.offer_error_log(notice.count, notice.completed)
        else:
            self.show_problem(notice.text, notice.more)

    def _notice(self, box: QMessageBox) -> None:
        """Show a box beside the window, never over another one, without blocking it."""
        self._close_notice()
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        box.show()
        self._notice_box = box

    def _close_notice(self) -> None:
        if self._notice_box is not None:
            self._notice_box.close()
            self._notice_box.deleteLater()
            self._notice_box = None

    def offer_error_log(self, count: int, completed: bool = True) -> None:
        """At the end of a run with errors: the log, on request (a box that does not block)."""
        box = QMessageBox(QMessageBox.Icon.Information, "Skype Export Importer", "", parent=self)
        box.setObjectName("errorOfferBox")
        box.setTextFormat(Qt.TextFormat.PlainText)
        done = "The import is done." if completed else "The import stopped."
        box.setText(f"{done} {count:,} records were skipped or repaired.")
        box.setInformativeText("The error log lists each one, what happened to it and what you can do.")
        show = box.addButton("Show the &error log", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("&Later", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(show)
        show.clicked.connect(lambda: self.show_error_log())
        self._notice(box)
        self.error_offer = box

    def show_problem(self, message: str, more: str = "") -> None:
        """A failure, in a box that names the application log (to send with a bug report)."""
        first, _, detail = message.partition("\n\n")
        box = QMessageBox(QMessageBox.Icon.Warning, "Skype Export Importer", first, parent=self)
        box.setObjectName("problemBox")
        box.setTextFormat(Qt.TextFormat.PlainText)
        if detail:
            box.setDetailedText(detail)  # a traceback: for a bug report, not for reading
        box.setInformativeText(
            (more + "\n\n" if more else "") + f"For a bug report, {applog.where()} (Help > Open log folder)."
        )
        self._notice(box)  # not exec: the window stays responsive, and tests are not blocked
        self.problem_box = box

    # --- the error log, the run history, the application log -----------------------------------------------------
    def show_error_log(self, run_id: str | None = None) -> None:
        """The error log of this database, showing the given run (by default the last one here)."""
        database = self._chosen_database()
        if database is not None:
            self.error_log = _replace(self.error_log, ErrorLogWindow(database, run_id or self.presenter.run_id, self))

    @Slot()
    def show_run_history(self) -> None:
        database = self._chosen_database()
        if database is None:
            return
        busy = self.presenter.run_id if self.presenter.importing else None
        history = RunHistoryWindow(database, busy, self)
        history.resume_requested.connect(self.resume_run)
        history.errors_requested.connect(self.show_error_log)
        self.run_history = _replace(self.run_history, history)

    @Slot()
    def show_archive(self) -> None:
        """The archive browser on the chosen database (it reads in a job of its own)."""
        database = self._chosen_database()
        if database is None:
            return
        remembered = self._last_conversation or self.settings.value(LAST_CONVERSATION)
        browser = ArchiveBrowserWindow(database, self, remembered=remembered)
        browser.remember.connect(self._remember_conversation)
        self.archive_browser = _replace(self.archive_browser, browser)

    @Slot(object)
    def _offer_archive(self, summary: Any) -> None:
        """After an import that stored messages: "Open archive", the window's default button."""
        if isinstance(summary, dict) and summary.get("status") == "completed":
            self.archive_button.setText("Open &archive")
            self.archive_button.setDefault(True)

    @Slot(object)
    def _browser_after_import(self, summary: Any) -> None:
        """An import that stored messages: the open archive browser of that database reads its conversations
        again."""
        if isinstance(summary, dict) and summary.get("messages"):
            self._refresh_archive_browser(summary, messages_changed=False)

    @Slot(object)
    def _browser_after_reprocess(self, summary: Any) -> None:
        """A reprocess that changed rows: the same, and the messages the browser shows (their texts may have
        changed)."""
        if isinstance(summary, dict) and summary.get("changed"):
            self._refresh_archive_browser(summary, messages_changed=True)

    def _refresh_archive_browser(self, summary: dict[str, Any], messages_changed: bool) -> None:
        browser = self.archive_browser
        if browser is None or not browser.isVisible():
            return
        try:
            shown = parse_database_url(browser.presenter.database).display
        except DatabaseUrlError:
            return
        if shown == summary.get("database"):
            browser.refresh(messages_changed=messages_changed)

    @Slot(list)
    def _remember_conversation(self, value: list[Any]) -> None:
        self._last_conversation = value
        self._save_settings({LAST_CONVERSATION: value})

    _last_conversation: list[Any] | None = None

    def _chosen_database(self) -> str | dict[str, Any] | None:
        """The database chosen in the panel, or None (and a box saying why) when it cannot be used."""
        try:
            return self.database()
        except DatabaseUrlError as exc:
            self._show_notice(Notice("problem", str(exc)))
            return None

    @Slot()
    def open_log_folder(self) -> None:
        job = Job(work.make_folder, str(log_dir()), name="log-folder")
        job.returned.connect(self._open_folder)
        job.errored.connect(self._log_folder_failed)
        job.start()

    @Slot(object)
    def _log_folder_failed(self, exc: BaseException) -> None:
        self.show_problem(f"Could not make the log folder {log_dir()}: {exc}")

    @Slot(object)
    def _open_folder(self, folder: str) -> None:
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(folder)):
            self.show_problem(f"Could not open the log folder {folder}; open it in your file manager.")

    @Slot()
    def show_about(self) -> None:
        QMessageBox.about(
            self,
            "About Skype Export Importer",
            f"Skype Export Importer {__version__}\n\nImports a Skype chat history export into SQLite or "
            f"PostgreSQL.\n\nApplication log: {applog.log_path()}",
        )

    # --- drop, settings, keyring -------------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt's name
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt's name
        urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.export_edit.setText(urls[0].toLocalFile())
            event.acceptProposedAction()

    def _restore_settings(self) -> bool:
        geometry = self.settings.value("geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            self.resize(760, 760)
        recent = self.settings.value("recentExports", [], list)
        self._recent: list[str] = [str(p) for p in recent] if isinstance(recent, list) else []
        if self._recent:
            self.export_edit.setText(self._recent[0])
        return self.database_panel.restore(self.settings)

    def _save_settings(self, values: dict[str, Any]) -> None:
        """In a job: this window's QSettings only reads (it would write its file in the GUI thread)."""
        Job(work.save_settings, self.settings.fileName(), values, name="settings").start()

    def _remember(self, export: str) -> None:
        self._recent = [export, *(p for p in self._recent if p != export)][:10]
        self._save_settings({"recentExports": self._recent, **self.database_panel.settings_values()})
        if self.postgres_radio.isChecked() and self.remember_password.isEnabled():
            remember = self.remember_password.isChecked()
            password = self.pg_password.text() or None
            Job(work.keep_password, self.database_panel.password_account(), password, remember, name="keyring").start()

    @Slot(bool)
    def _keyring_when_chosen(self, chosen: bool) -> None:
        """The keyring is asked once, when PostgreSQL is first chosen: only its password is kept there, and a
        keyring's first use imports modules for a tenth of a second, which the window would feel as it opens."""
        if chosen and self._keyring_job is None:
            self._check_keyring(self._remembering)

    def _check_keyring(self, remember: bool) -> None:
        """Whether there is a keyring (asked in a job: it can be slow), and the password kept there."""
        account = self.database_panel.password_account() if remember else None
        job = Job(work.keyring_state, account, name="keyring")
        job.returned.connect(self._on_keyring)
        job.start()
        self._keyring_job = job

    @Slot(object)
    def _on_keyring(self, state: tuple[bool, str | None]) -> None:
        available, password = state
        self.database_panel.set_keyring(available)
        if available and password is not None:
            self.remember_password.setChecked(True)
            if not self.pg_password.text():
                self.pg_password.setText(password)

    @property
    def keyring_checked(self) -> bool:
        """The keyring has answered (it is asked once PostgreSQL is chosen)."""
        return self._keyring_job is not None and not self._keyring_job.is_running()

    # --- closing ------------------------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        presenter = self.presenter
        if presenter.importing and presenter.state != STOPPING and not presenter.closing:
            answer = QMessageBox.question(
                self,
                "Stop the import?",
                "An import is running. Stop it after the current batch and quit? You can resume it later.",
            )
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
        for window in (self.error_log, self.run_history, self.archive_browser):
            if window is not None:
                window.close()
        if not presenter.request_close():
            event.ignore()  # closed again once every job has ended (presenter.closable)
            self._update_buttons()
            return
        self._save_settings({"geometry": self.saveGeometry()})
        event.accept()


def _replace(old: QWidget | None, new: Any) -> Any:
    """One window of a kind at a time, showing what the database holds now."""
    if old is not None:
        old.close()
        old.deleteLater()
    new.show()
    new.raise_()
    return new
