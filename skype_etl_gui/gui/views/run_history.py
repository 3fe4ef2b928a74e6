"""The run history window: every import into this database, from the window or the command line. No I/O here."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..models.runs import COLUMN_SAMPLES
from ..presenters.history import HistoryPresenter
from ..widgets import above_details, plain_label, push_button


class RunHistoryWindow(QWidget):
    """The runs, newest first; Resume for an unfinished one, and its errors."""

    resume_requested = Signal(str)  # the export's path
    errors_requested = Signal(str)  # a run id

    def __init__(self, database: Any, busy_run_id: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("runHistoryWindow")
        self.setWindowTitle("Run history")
        self.resize(1100, 420)
        self.presenter = HistoryPresenter(database, busy_run_id, self)
        self.model = self.presenter.model
        layout = QVBoxLayout(self)
        self.table = QTableView()
        self.table.setObjectName("runTable")
        self.table.setModel(self.model)  # the model sorts itself: no proxy
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self._size_columns()
        self.table.doubleClicked.connect(lambda _: self.show_errors())
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.details_note = plain_label("reconciliationNote", "")
        self.details = QTableView()
        self.details.setObjectName("reconciliationTable")
        self.details.setModel(self.presenter.details)
        self.details.verticalHeader().setVisible(False)
        self.details.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(above_details(self.table, self.details_note, self.details, 2), 1)
        self.presenter.reconciled.connect(self.details_note.setText)
        self.table.selectionModel().selectionChanged.connect(self._show_selected)
        row = QHBoxLayout()
        self.note = plain_label("runHistoryNote", "Reading…")
        self.resume_button = push_button(
            "&Resume", "resumeRunButton", self.resume_selected, "Continue this import from its last checkpoint"
        )
        self.errors_button = push_button("Show &errors", "runErrorsButton", self.show_errors)
        refresh = push_button("Re&fresh", "refreshRunsButton", self.refresh)
        row.addWidget(self.note, 1)
        for button in (refresh, self.errors_button, self.resume_button):
            row.addWidget(button)
        layout.addLayout(row)
        self.presenter.note.connect(self.note.setText)
        self.presenter.loaded.connect(self._loaded)
        self._update_buttons()
        QTimer.singleShot(0, self.presenter.open)  # once the window shows: its reads do not slow its making

    @Slot()
    def refresh(self) -> None:
        self.presenter.refresh()

    def _size_columns(self) -> None:
        """Widths from the font, not from the rows: fitting them to thousands of runs would stall the window."""
        metrics = self.table.fontMetrics()
        header = self.table.horizontalHeader()
        for column, sample in enumerate(COLUMN_SAMPLES):
            header.resizeSection(column, metrics.horizontalAdvance(sample) + 24)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)  # a long name or URL is in its tooltip

    @Slot()
    def _loaded(self) -> None:
        self._update_buttons()
        self._show_selected()

    @Slot()
    def _show_selected(self, *_: Any) -> None:
        run = self.selected_run()
        self.presenter.show_run(str(run["id"]) if run is not None else None)

    def selected_run(self) -> dict[str, Any] | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.model.runs[rows[0].row()]

    def select_run(self, run_id: str) -> bool:
        for row, run in enumerate(self.model.runs):
            if run["id"] == run_id:
                self.table.selectRow(row)
                return True
        return False

    def is_resumable(self, run: dict[str, Any] | None) -> bool:
        return self.presenter.is_resumable(run)

    @Slot()
    def _update_buttons(self, *_: Any) -> None:
        run = self.selected_run()
        self.resume_button.setEnabled(self.is_resumable(run))
        self.errors_button.setEnabled(run is not None)

    @Slot()
    def resume_selected(self) -> None:
        run = self.selected_run()
        if run is not None and self.is_resumable(run):
            self.resume_requested.emit(str(run["export_path"]))

    @Slot()
    def show_errors(self) -> None:
        run = self.selected_run()
        if run is not None:
            self.errors_requested.emit(str(run["id"]))

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        self.presenter.close()
        event.accept()
