"""The run history: every import into this database, from the window or the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..etl import DatabaseError, DatabaseUrlError
from ..etl.loader import RESUMABLE
from ..units import duration_text
from .error_log import Index, open_for_reading
from .widgets import plain_label, push_button

STATUS_TEXT = {
    "completed": "completed",
    "failed": "failed (can be resumed)",
    "cancelled": "cancelled (can be resumed)",
    "running": "interrupted, or still running",
    "resumed": "resumed by a later run",
}
COLUMNS = [
    ("started_at", "Started"),
    ("export_path", "Export"),
    ("database_url", "Database"),
    ("duration_s", "Duration"),
    ("status", "Status"),
    ("conversations", "Conversations"),
    ("messages", "Messages"),
    ("errors", "Errors"),
]
NUMERIC = {"duration_s", "conversations", "messages", "errors"}


class RunTableModel(QAbstractTableModel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs: list[dict[str, Any]] = []

    def set_runs(self, runs: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self.runs = runs
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008 - Qt's names
        return 0 if parent.isValid() else len(self.runs)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008 - Qt's names
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        run = self.runs[index.row()]
        key = COLUMNS[index.column()][0]
        value = run.get(key)
        if role == Qt.ItemDataRole.UserRole:  # what sorting compares
            return value if value is not None else (0 if key in NUMERIC else "")
        if role == Qt.ItemDataRole.TextAlignmentRole and key in NUMERIC:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            if key == "status" and run.get("error_message"):
                return str(run["error_message"])
            return None if value is None else str(value)
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if value is None:
            return ""
        if key == "started_at":
            return str(value)[:19].replace("T", " ")
        if key == "export_path":
            return Path(str(value)).name
        if key == "duration_s":
            return f"{value:.1f} s" if float(value) < 60 else duration_text(float(value))
        if key == "status":
            return STATUS_TEXT.get(str(value), str(value))
        if key in NUMERIC:
            return f"{int(value):,}"
        return str(value)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section][1] if 0 <= section < len(COLUMNS) else None
        return None


class RunHistoryWindow(QWidget):
    """The runs, newest first; Resume for an unfinished one, and its errors."""

    resume_requested = Signal(str)  # the export's path
    errors_requested = Signal(str)  # a run id

    def __init__(self, database: Any, busy_run_id: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("runHistoryWindow")
        self.setWindowTitle("Run history")
        self.resize(1100, 420)
        self.database = database
        self.busy_run_id = busy_run_id  # the import running in the window now: not resumable
        self.model = RunTableModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(Qt.ItemDataRole.UserRole)
        layout = QVBoxLayout(self)
        self.table = QTableView()
        self.table.setObjectName("runTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.doubleClicked.connect(lambda _: self.show_errors())
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.note = plain_label("runHistoryNote")
        self.resume_button = push_button(
            "&Resume", "resumeRunButton", self.resume_selected, "Continue this import from its last checkpoint"
        )
        self.errors_button = push_button("Show &errors", "runErrorsButton", self.show_errors)
        refresh = push_button("Re&fresh", "refreshRunsButton", self.refresh)
        row.addWidget(self.note, 1)
        for button in (refresh, self.errors_button, self.resume_button):
            row.addWidget(button)
        layout.addLayout(row)
        self.refresh()

    @Slot()
    def refresh(self) -> None:
        runs: list[dict[str, Any]] = []
        try:
            loader = open_for_reading(self.database)
            if loader is not None:
                with loader:
                    runs = loader.runs(limit=10_000)
        except (DatabaseError, DatabaseUrlError) as exc:
            self.note.setText(f"Cannot read the runs: {exc}")
        else:
            count = f"{len(runs):,} run" + ("" if len(runs) == 1 else "s")
            self.note.setText(count if runs else "No imports in this database yet.")
        self.model.set_runs(runs)
        self.table.resizeColumnsToContents()
        header = self.table.horizontalHeader()
        for column in range(len(COLUMNS)):
            header.resizeSection(column, min(header.sectionSize(column), 260))  # a long URL is in its tooltip
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self._update_buttons()

    def selected_run(self) -> dict[str, Any] | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.model.runs[self.proxy.mapToSource(rows[0]).row()]

    def select_run(self, run_id: str) -> bool:
        for row, run in enumerate(self.model.runs):
            if run["id"] == run_id:
                self.table.selectRow(self.proxy.mapFromSource(self.model.index(row, 0)).row())
                return True
        return False

    def is_resumable(self, run: dict[str, Any] | None) -> bool:
        return bool(run) and run["status"] in RESUMABLE and run["id"] != self.busy_run_id  # type: ignore[index]

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
