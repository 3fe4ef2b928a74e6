"""The main window: choose an export and a database, import, watch it go, pause, cancel, resume."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from PySide6.QtCharts import QChart, QChartView, QLineSeries, QValueAxis
from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, QUrl, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QDragEnterEvent, QDropEvent, QKeySequence, QPainter
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from .. import __version__, applog
from ..etl import DatabaseError, DatabaseUrlError, ETLPipeline, ExportError, open_loader
from ..etl.extractor import Extractor, fingerprint
from ..etl.pipeline import DEFAULT_BATCH_SIZE
from ..etl.urls import parse_database_url
from ..paths import default_database_path, log_dir
from ..units import duration_text
from . import passwords
from .tasks import Task, connection_test, preview
from .widgets import plain_label, push_button
from .worker import ImportController

if TYPE_CHECKING:
    from .error_log import ErrorLogWindow
    from .run_history import RunHistoryWindow

log = logging.getLogger(__name__)
SSL_MODES = ["prefer", "disable", "allow", "require", "verify-ca", "verify-full"]
MEMORY_POINTS = 240  # a minute at four samples a second


class MainWindow(QMainWindow):
    import_finished = Signal(object)  # the summary, or {"status": "failed", "error": ...} when it could not start

    def __init__(self, export_path: str | None = None, database_url: str | None = None) -> None:
        super().__init__()
        self.batch_size = DEFAULT_BATCH_SIZE
        self.setWindowTitle("Skype Export Importer")
        self.setAcceptDrops(True)
        # an INI file in the user's config folder on every platform (and a test can point it elsewhere)
        self.settings = QSettings(
            QSettings.Format.IniFormat, QSettings.Scope.UserScope, "skype-etl-gui", "skype-etl-gui"
        )
        self.controller: ImportController | None = None
        self.last_summary: dict[str, Any] | None = None
        self.last_error: str | None = None
        self.error_count = 0
        self.run_id: str | None = None
        self.started_at = 0.0
        self.memory_limit_mb = 1024.0
        self.error_log: ErrorLogWindow | None = None
        self.run_history: RunHistoryWindow | None = None
        self.problem_box: QMessageBox | None = None  # the last failure shown
        self.error_offer: QMessageBox | None = None  # the last "show the error log?" offer
        self._notice_box: QMessageBox | None = None  # the box shown now, if any
        self._pending_notice: Callable[[], None] | None = None  # a box to show once the import's thread ends
        self._build()
        self._restore_settings()
        if export_path:
            self.export_edit.setText(str(export_path))
        if database_url:
            self.set_database_url(database_url)
        self._update_buttons()

    # --- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self._export_box())
        layout.addWidget(self._database_box())
        layout.addLayout(self._buttons())
        layout.addWidget(self._progress_box(), 1)
        self.setCentralWidget(central)
        self._menus()

    def _export_box(self) -> QGroupBox:
        box = QGroupBox("&Export")
        grid = QGridLayout(box)
        self.export_edit = QLineEdit()
        self.export_edit.setObjectName("exportEdit")
        self.export_edit.setPlaceholderText("The .tar from Skype's export page, or its messages.json (or drop it here)")
        self.export_edit.textChanged.connect(self._update_buttons)
        browse = push_button("&Browse…", "browseButton", self.choose_export)
        self.preview_label = plain_label("previewLabel")
        grid.addWidget(self.export_edit, 0, 0)
        grid.addWidget(browse, 0, 1)
        grid.addWidget(self.preview_label, 1, 0, 1, 2)
        # preview a moment after the path stops changing, off the GUI thread
        self.preview_timer = QTimer(self)
        self.preview_timer.setSingleShot(True)
        self.preview_timer.setInterval(300)
        self.preview_timer.timeout.connect(self.start_preview)
        self.export_edit.textChanged.connect(lambda _: self.preview_timer.start())
        self.preview_task: Task | None = None
        self.test_task: Task | None = None
        return box

    def _database_box(self) -> QGroupBox:
        box = QGroupBox("&Database")
        outer = QVBoxLayout(box)
        self.local_radio = QRadioButton("&Local database")
        self.local_radio.setObjectName("localRadio")
        self.postgres_radio = QRadioButton("Post&greSQL server")
        self.postgres_radio.setObjectName("postgresRadio")
        group = QButtonGroup(self)
        group.addButton(self.local_radio)
        group.addButton(self.postgres_radio)
        self.local_radio.setChecked(True)
        local_row = QHBoxLayout()
        self.local_path = QLineEdit(str(default_database_path()))
        self.local_path.setObjectName("localPathEdit")
        change = QPushButton("C&hange…")
        change.clicked.connect(self.choose_local_database)
        local_row.addWidget(self.local_radio)
        local_row.addWidget(self.local_path, 1)
        local_row.addWidget(change)
        outer.addLayout(local_row)
        outer.addWidget(self.postgres_radio)
        form = QFormLayout()
        self.pg_host = QLineEdit("localhost")
        self.pg_port = QSpinBox()
        self.pg_port.setRange(1, 65535)
        self.pg_port.setValue(5432)
        self.pg_database = QLineEdit("skype")
        self.pg_user = QLineEdit()
        self.pg_password = QLineEdit()
        self.pg_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.pg_password.setPlaceholderText("empty: PGPASSWORD or ~/.pgpass; never saved")
        self.pg_sslmode = QComboBox()
        self.pg_sslmode.addItems(SSL_MODES)
        self.remember_password = QCheckBox("Remember the password in the system &keyring")
        self.remember_password.setObjectName("rememberPasswordCheck")
        self.remember_password.setEnabled(passwords.available())
        if not passwords.available():
            self.remember_password.setToolTip("No system keyring here: the password is asked each time")
        for label, widget in (
            ("Host", self.pg_host),
            ("Port", self.pg_port),
            ("Database", self.pg_database),
            ("User", self.pg_user),
            ("Password", self.pg_password),
            ("SSL mode", self.pg_sslmode),
        ):
            form.addRow(label, widget)
        form.addRow("", self.remember_password)
        test_row = QHBoxLayout()
        self.test_button = push_button("&Test connection", "testConnectionButton", self.test_connection)
        self.test_result = plain_label("testResultLabel", wrap=False)
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.test_result, 1)
        form.addRow(test_row)
        self.pg_fields = QWidget()
        self.pg_fields.setLayout(form)
        outer.addWidget(self.pg_fields)
        self.local_radio.toggled.connect(self._update_buttons)
        return box

    def _buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.start_button = push_button("&Start", "startButton", self.start)
        self.start_button.setShortcut(QKeySequence("Ctrl+Return"))
        self.pause_button = push_button("&Pause", "pauseButton", self.toggle_pause)
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
        for button in (self.start_button, self.pause_button, self.cancel_button):
            row.addWidget(button)
        row.addStretch(1)
        row.addWidget(self.history_button)
        row.addWidget(self.error_button)
        return row

    def _progress_box(self) -> QGroupBox:
        box = QGroupBox("Progress")
        layout = QVBoxLayout(box)
        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("progressBar")
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setFormat("%p%")
        self.status_label = plain_label("statusLabel", "Choose an export and press Start.")
        self.memory_label = QLabel("Memory: –")
        self.memory_label.setObjectName("memoryLabel")
        self.memory_series = QLineSeries()
        self.memory_series.setName("memory (MB)")
        self.limit_series = QLineSeries()
        self.limit_series.setName("limit")
        chart = QChart()
        chart.addSeries(self.memory_series)
        chart.addSeries(self.limit_series)
        chart.legend().setAlignment(Qt.AlignmentFlag.AlignRight)
        self.memory_x = QValueAxis()
        self.memory_x.setRange(0, MEMORY_POINTS)
        self.memory_x.setVisible(False)
        self.memory_y = QValueAxis()
        self.memory_y.setRange(0, self.memory_limit_mb * 1.1)
        self.memory_y.applyNiceNumbers()  # 0, 300, 600, 900, 1200: round ticks
        self.memory_y.setTitleText("MB")
        self.memory_y.setLabelFormat("%d")
        self.memory_y.setTruncateLabels(False)  # "1,100", not "…", however narrow the axis area starts
        chart.addAxis(self.memory_x, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(self.memory_y, Qt.AlignmentFlag.AlignLeft)
        for series in (self.memory_series, self.limit_series):
            series.attachAxis(self.memory_x)
            series.attachAxis(self.memory_y)
        self.memory_chart = QChartView(chart)
        self.memory_chart.setObjectName("memoryChart")
        self.memory_chart.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.memory_chart.setMinimumHeight(140)
        self.summary_label = plain_label("summaryLabel")
        for widget in (self.progress_bar, self.status_label, self.memory_label):
            layout.addWidget(widget)
        layout.addWidget(self.memory_chart, 1)
        layout.addWidget(self.summary_label)
        self.memory_samples = 0
        self.elapsed_timer = QTimer(self)
        self.elapsed_timer.setInterval(500)
        self.elapsed_timer.timeout.connect(self._tick)
        return box

    def _menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        open_action = QAction("&Open export…", self)
        open_action.setShortcut(QKeySequence.StandardKey.Open)
        open_action.triggered.connect(self.choose_export)
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(open_action)
        file_menu.addSeparator()
        file_menu.addAction(quit_action)
        view_menu = self.menuBar().addMenu("&View")
        errors_action = QAction("&Error log", self)
        errors_action.setShortcut(QKeySequence("Ctrl+E"))
        errors_action.triggered.connect(lambda: self.show_error_log())
        history_action = QAction("Run &history", self)
        history_action.setShortcut(QKeySequence("Ctrl+H"))
        history_action.triggered.connect(self.show_run_history)
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

    # --- choosing ---------------------------------------------------------------------------------
    @Slot()
    def choose_export(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Choose the Skype export",
            self.export_edit.text(),
            "Skype export (*.tar *.tar.gz *.tgz *.json);;All files (*)",
        )
        if path:
            self.export_edit.setText(path)

    @Slot()
    def choose_local_database(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Local database file",
            self.local_path.text(),
            "SQLite database (*.db *.sqlite);;All files (*)",
            options=QFileDialog.Option.DontConfirmOverwrite,
        )
        if path:
            self.local_path.setText(path)
            self.local_radio.setChecked(True)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt's name
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt's name
        urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.export_edit.setText(urls[0].toLocalFile())
            event.acceptProposedAction()

    def set_database_url(self, url: str) -> None:
        target = parse_database_url(url)
        if target.kind == "sqlite":
            self.local_path.setText(str(target.path))
            self.local_radio.setChecked(True)
            return
        self.postgres_radio.setChecked(True)
        if "://" in url:
            parts = urlsplit(url)
            self.pg_host.setText(parts.hostname or "localhost")
            self.pg_port.setValue(parts.port or 5432)
            self.pg_database.setText(unquote(parts.path.lstrip("/")))
            self.pg_user.setText(unquote(parts.username or ""))
            self.pg_password.setText(unquote(parts.password or ""))
            mode = parse_qs(parts.query).get("sslmode", ["prefer"])[0]
            if mode in SSL_MODES:
                self.pg_sslmode.setCurrentText(mode)

    def database(self) -> str | dict[str, Any]:
        """The chosen database: a SQLite URL, or a connection dict (the password stays out of any URL)."""
        if self.local_radio.isChecked():
            return f"sqlite:///{Path(self.local_path.text()).expanduser()}"
        return {
            "host": self.pg_host.text().strip(),
            "port": self.pg_port.value(),
            "dbname": self.pg_database.text().strip(),
            "user": self.pg_user.text().strip() or None,
            "password": self.pg_password.text() or None,
            "sslmode": self.pg_sslmode.currentText(),
        }

    @Slot()
    def test_connection(self) -> None:
        if self.test_task is not None and self.test_task.thread.isRunning():
            return
        self.test_result.setText("Connecting…")
        self.test_button.setEnabled(False)
        task = Task(connection_test(self.database()), self)
        task.job.done.connect(lambda message: self.test_result.setText(f"✓ {message}"))
        task.job.failed.connect(lambda message: self.test_result.setText(f"✗ {message}"))
        task.thread.finished.connect(lambda: self.test_button.setEnabled(True))
        _let_go(self.test_task)
        self.test_task = task
        task.start()

    # --- preview --------------------------------------------------------------------------------
    @Slot()
    def start_preview(self) -> None:
        self.stop_preview()
        path = self.export_edit.text().strip()
        if not path or self.is_running():
            self.preview_label.setText("")
            return
        self.preview_label.setText("Reading the export…")
        task = Task(preview(path), self)
        task.job.update.connect(self._on_preview)
        task.job.done.connect(self._on_preview)
        task.job.failed.connect(lambda message: self.preview_label.setText(f"✗ {message}"))
        self.preview_task = task
        task.start()

    def stop_preview(self) -> None:
        if self.preview_task is not None:
            self.preview_task.cancel_and_wait()
            _let_go(self.preview_task)
            self.preview_task = None

    @Slot(object)
    def _on_preview(self, found: dict[str, Any]) -> None:
        span = f", {found['first'][:10]} to {found['last'][:10]}" if found.get("first") and found.get("last") else ""
        text = (
            f"{found['conversations']:,} conversations, {found['messages']:,} messages{span}; "
            f"{found['size'] / 1_048_576:,.1f} MB ({found['kind']})"
        )
        if not found.get("complete"):
            text = f"Reading… {found.get('percent', 0):.0f}%: so far " + text
        self.preview_label.setText(text)

    # --- running ---------------------------------------------------------------------------------
    def is_running(self) -> bool:
        return self.controller is not None and self.controller.is_running()

    def start(self, resume: bool | None = None) -> None:
        """Import the chosen export; `resume` None asks when an unfinished run of it exists."""
        if self.is_running():
            return
        export = self.export_edit.text().strip()
        self.preview_timer.stop()
        self.stop_preview()  # the import reads the file now
        try:
            Extractor(export)  # a clear message now, before anything else happens
            pipeline = ETLPipeline(self.database(), batch_size=self.batch_size)
        except (ExportError, DatabaseUrlError) as exc:
            self._show_problem(str(exc))
            return
        if resume is None:
            resume = self._ask_resume(pipeline, export)
        if resume is None:
            return
        self._remember_export(export)
        self._close_notice()
        self.last_summary, self.last_error, self.error_count, self.run_id = None, None, 0, None
        self.memory_limit_mb = pipeline.memory_limit_mb
        self.memory_series.clear()
        self.limit_series.clear()
        self.memory_samples = 0
        self.memory_y.setRange(0, self.memory_limit_mb * 1.1)
        self.memory_y.applyNiceNumbers()  # 0, 300, 600, 900, 1200: round ticks
        self.progress_bar.setValue(0)
        self.summary_label.setText("")
        self.error_button.setText("&Errors: 0")
        self.status_label.setText("Starting…")
        _let_go(self.controller)
        controller = ImportController(pipeline, export, resume, self)
        worker = controller.worker
        worker.progress.connect(self._on_progress)
        worker.memory.connect(self._on_memory)
        worker.errors.connect(self._on_errors)
        worker.phase.connect(self._on_phase)
        worker.checkpoint.connect(self._on_checkpoint)
        worker.holding.connect(self._on_holding)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        controller.thread.finished.connect(self._after_thread)
        self.controller = controller
        self.started_at = time.monotonic()
        self.elapsed_timer.start()
        controller.start()
        self._update_buttons()

    def resume_run(self, export_path: str) -> None:
        """Resume the unfinished run of this export (from the run history)."""
        if self.is_running():
            self._show_problem("An import is running: wait for it to end, or cancel it, before resuming another.")
            return
        self.export_edit.setText(export_path)
        self.start(resume=True)

    def _ask_resume(self, pipeline: ETLPipeline, export: str) -> bool | None:
        """True to resume an unfinished run of this export, False to import anew, None to do nothing."""
        try:
            loader = open_loader(pipeline.target)
            loader.connect()
            try:
                loader.ensure_schema()
                wanted = fingerprint(export)
                unfinished = [r for r in loader.unfinished_runs() if r["export_fingerprint"] == wanted]
            finally:
                loader.close()
        except DatabaseError as exc:
            self._show_problem(str(exc))
            return None
        if not unfinished:
            return False
        done = (unfinished[0].get("checkpoint") or {}).get("messages", 0)
        choice = self.resume_choice(done)
        return True if choice == "resume" else False if choice == "anew" else None

    def resume_choice(self, done: int) -> str:
        """Ask: "resume", "anew" or "cancel"."""
        box = QMessageBox(self)
        box.setWindowTitle("Resume the interrupted import?")
        box.setText(f"This export was being imported into this database and stopped after {done:,} messages.")
        box.setInformativeText("Resume continues from there. Start over reads it all again (nothing is duplicated).")
        resume = box.addButton("&Resume", QMessageBox.ButtonRole.AcceptRole)
        anew = box.addButton("Start &over", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(resume)
        box.exec()
        clicked = box.clickedButton()
        return "resume" if clicked is resume else "anew" if clicked is anew else "cancel"

    @Slot()
    def toggle_pause(self) -> None:
        if not self.is_running() or self.controller is None:
            return
        if self.controller.pipeline.paused:
            self.controller.resume()
            self.pause_button.setText("&Pause")
            self.status_label.setText("Resuming…")
        else:
            self.controller.pause()
            self.pause_button.setText("&Resume")
            self.status_label.setText("Pausing after the current batch…")

    @Slot()
    def ask_cancel(self) -> None:
        if not self.is_running() or self.controller is None:
            return
        answer = QMessageBox.question(
            self,
            "Cancel the import?",
            "Stop after the current batch? What is imported so far is kept, and you can resume later.",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.controller.cancel()
            self.status_label.setText("Stopping after the current batch…")

    # --- what the worker reports -----------------------------------------------------------------------
    @Slot(object)
    def _on_progress(self, progress: dict[str, Any]) -> None:
        self.progress_bar.setValue(int(progress["percent"] * 10))
        eta = duration_text(progress["eta_s"]) if progress.get("eta_s") is not None else "–"
        self._progress_text = (
            f"{progress['messages']:,} messages, {progress['conversations']:,} conversations · "
            f"{progress['rate']:,.0f} messages/s · ETA {eta}"
        )
        self._tick()

    @Slot(object)
    def _on_memory(self, sample: dict[str, Any]) -> None:
        rss, limit = sample["rss_mb"], sample["limit_mb"]
        self.memory_label.setText(f"Memory: {rss:,.0f} MB (peak {sample['peak_mb']:,.0f} MB, limit {limit:,.0f} MB)")
        x = self.memory_samples
        self.memory_samples += 1
        self.memory_series.append(x, rss)
        self.limit_series.append(x, limit)
        if self.memory_series.count() > MEMORY_POINTS:
            self.memory_series.remove(0)
            self.limit_series.remove(0)
        self.memory_x.setRange(max(0, x - MEMORY_POINTS), max(20, x))  # the last minute, filling the width

    @Slot(object)
    def _on_errors(self, update: dict[str, Any]) -> None:
        self.error_count = update["count"]
        self.error_button.setText(f"&Errors: {self.error_count:,}")

    @Slot(object)
    def _on_phase(self, phase: dict[str, Any]) -> None:
        self._phase = phase["name"]

    @Slot(object)
    def _on_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.run_id = checkpoint.get("run_id")

    @Slot(object)
    def _on_holding(self, state: str) -> None:
        if state == "holding":
            self.status_label.setText("Paused: nothing is being written. Press Resume to go on.")

    @Slot(object)
    def _on_finished(self, summary: dict[str, Any]) -> None:
        self.elapsed_timer.stop()
        self.last_summary = summary
        self.run_id = summary["run_id"]
        self.error_count = summary["errors"]
        self.error_button.setText(f"&Errors: {self.error_count:,}")
        status = summary["status"]
        if status == "completed":
            self.progress_bar.setValue(self.progress_bar.maximum())
            text = (
                f"Done: {summary['messages']:,} messages in {summary['conversations']:,} conversations "
                f"in {summary['duration_s']:.1f} s into {summary['database']}."
            )
            if summary["resumed"]:
                text += f" Resumed: {summary['messages_skipped']:,} messages were already there."
            if summary["errors"]:
                text += f" {summary['errors']:,} records were skipped or repaired: see Errors."
        elif status == "cancelled":
            text = f"Stopped after {summary['messages']:,} messages. Press Start to resume."
        else:
            text = f"Failed: {summary.get('error')}. What was imported is kept; press Start to resume."
        self.status_label.setText("Finished." if status == "completed" else text)
        self.summary_label.setText(text)
        self.pause_button.setText("&Pause")
        self._update_buttons()
        # a box only once the import's thread has ended (see _after_thread)
        if status == "failed":
            self._pending_notice = lambda: self._show_problem(
                text, "The error log (the Errors button) shows what happened."
            )
        elif summary["errors"]:
            self._pending_notice = lambda: self.offer_error_log(summary["errors"], status == "completed")
        self.import_finished.emit(summary)

    @Slot()
    def _after_thread(self) -> None:
        self._update_buttons()
        notice, self._pending_notice = self._pending_notice, None
        if notice is not None:
            notice()

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

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.elapsed_timer.stop()
        self.last_error = message
        self.status_label.setText("Could not import.")
        self.pause_button.setText("&Pause")
        self._pending_notice = lambda: self._show_problem(message)  # once the thread has ended
        self._update_buttons()
        self.import_finished.emit({"status": "failed", "error": message})

    def _tick(self) -> None:
        if not self.is_running():
            return
        elapsed = duration_text(time.monotonic() - self.started_at)
        paused = self.controller is not None and self.controller.pipeline.paused
        if not paused:
            self.status_label.setText(f"Importing ({elapsed}) · {getattr(self, '_progress_text', 'reading…')}")

    def _show_problem(self, message: str, more: str = "") -> None:
        """A failure, in a box that names the application log (to send with a bug report)."""
        log.warning("shown to the user: %s", message)
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

    def _update_buttons(self) -> None:
        running = self.is_running()
        self.start_button.setEnabled(not running and bool(self.export_edit.text().strip()))
        self.pause_button.setEnabled(running)
        self.cancel_button.setEnabled(running)
        self.pg_fields.setEnabled(self.postgres_radio.isChecked() and not running)

    # --- the error log, the run history, the application log ---------------------------------------------
    def show_error_log(self, run_id: str | None = None) -> None:
        """The error log of this database, showing the given run (by default the last one here)."""
        from .error_log import ErrorLogWindow

        if self.error_log is not None:  # one at a time, showing what the database holds now
            self.error_log.close()
            self.error_log.deleteLater()
        self.error_log = ErrorLogWindow(self.database(), run_id or self.run_id, self)
        self.error_log.show()
        self.error_log.raise_()

    @Slot()
    def show_run_history(self) -> None:
        from .run_history import RunHistoryWindow

        if self.run_history is not None:  # one at a time, showing what the database holds now
            self.run_history.close()
            self.run_history.deleteLater()
        busy = self.run_id if self.is_running() else None
        self.run_history = RunHistoryWindow(self.database(), busy, self)
        self.run_history.resume_requested.connect(self.resume_run)
        self.run_history.errors_requested.connect(self.show_error_log)
        self.run_history.show()
        self.run_history.raise_()

    @Slot()
    def open_log_folder(self) -> None:
        folder = log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            self._show_problem(f"Could not open the log folder {folder}; open it in your file manager.")

    @Slot()
    def show_about(self) -> None:
        QMessageBox.about(
            self,
            "About Skype Export Importer",
            f"Skype Export Importer {__version__}\n\nImports a Skype chat history export into SQLite or "
            f"PostgreSQL.\n\nApplication log: {applog.log_path()}",
        )

    # --- settings and closing ----------------------------------------------------------------------------
    def _remember_export(self, export: str) -> None:
        recent = [p for p in self.settings.value("recentExports", [], list) if p != export]
        self.settings.setValue("recentExports", [export, *recent][:10])
        self.settings.setValue("database/kind", "local" if self.local_radio.isChecked() else "postgresql")
        self.settings.setValue("database/localPath", self.local_path.text())
        for key, widget in (("host", self.pg_host), ("database", self.pg_database), ("user", self.pg_user)):
            self.settings.setValue(f"postgresql/{key}", widget.text())  # never the password
        self.settings.setValue("postgresql/port", self.pg_port.value())
        self.settings.setValue("postgresql/sslmode", self.pg_sslmode.currentText())
        if self.postgres_radio.isChecked():
            name = self._password_account()
            if self.remember_password.isChecked() and self.pg_password.text():
                passwords.save(name, self.pg_password.text())
            elif not self.remember_password.isChecked():
                passwords.forget(name)
            self.settings.setValue("postgresql/rememberPassword", self.remember_password.isChecked())

    def _password_account(self) -> str:
        return passwords.account(
            self.pg_host.text(), self.pg_port.value(), self.pg_database.text(), self.pg_user.text()
        )

    def _restore_settings(self) -> None:
        geometry = self.settings.value("geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            self.resize(760, 720)
        recent = self.settings.value("recentExports", [], list)
        if recent:
            self.export_edit.setText(recent[0])
        self.local_path.setText(str(self.settings.value("database/localPath", self.local_path.text())))
        for key, widget in (("host", self.pg_host), ("database", self.pg_database), ("user", self.pg_user)):
            widget.setText(str(self.settings.value(f"postgresql/{key}", widget.text())))
        self.pg_port.setValue(int(self.settings.value("postgresql/port", 5432)))
        self.pg_sslmode.setCurrentText(str(self.settings.value("postgresql/sslmode", "prefer")))
        if self.settings.value("database/kind", "local") == "postgresql":
            self.postgres_radio.setChecked(True)
        if passwords.available() and self.settings.value("postgresql/rememberPassword", False, bool):
            self.remember_password.setChecked(True)
            self.pg_password.setText(passwords.load(self._password_account()) or "")

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        if self.is_running() and self.controller is not None:
            answer = QMessageBox.question(
                self,
                "Stop the import?",
                "An import is running. Stop it after the current batch and quit? You can resume it later.",
            )
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
            self.status_label.setText("Stopping…")
            self.controller.stop_and_wait()
        self.stop_preview()
        if self.test_task is not None:
            self.test_task.cancel_and_wait()
        self.settings.setValue("geometry", self.saveGeometry())
        event.accept()


def _let_go(owner: Task | ImportController | None) -> None:
    """Drop an ended task or import from the window's children, so that it is destroyed here, in the GUI thread."""
    if owner is not None and not owner.thread.isRunning():
        owner.setParent(None)
