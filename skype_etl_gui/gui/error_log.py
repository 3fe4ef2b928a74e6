"""The error log: every skipped or repaired record and every failure of a run, as a table."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtWidgets import QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from ..etl import DatabaseError, open_loader

COLUMNS = [
    ("created_at", "Time"),
    ("run_id", "Run"),
    ("phase", "Phase"),
    ("severity", "Severity"),
    ("conversation_id", "Conversation"),
    ("message_id", "Message"),
    ("error_type", "Type"),
    ("message", "What happened"),
]
Index = QModelIndex | QPersistentModelIndex


class ErrorTableModel(QAbstractTableModel):
    def __init__(self, rows: list[dict[str, Any]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows = rows

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008 - Qt's names
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008 - Qt's names
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return None
        value = self.rows[index.row()].get(COLUMNS[index.column()][0])
        return "" if value is None else str(value)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section][1]
        return None


class ErrorLogWindow(QWidget):
    def __init__(self, database: Any, run_id: str | None, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Errors" + (f" of run {run_id}" if run_id else ""))
        self.resize(900, 480)
        layout = QVBoxLayout(self)
        self.note = QLabel("")
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.note)
        rows: list[dict[str, Any]] = []
        try:
            with open_loader(database) as loader:
                loader.ensure_schema()
                rows = loader.errors(run_id)
        except DatabaseError as exc:
            self.note.setText(str(exc))
        self.model = ErrorTableModel(rows, self)
        proxy = QSortFilterProxyModel(self)
        proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setObjectName("errorTable")
        self.table.setModel(proxy)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table)
        if not self.note.text():
            self.note.setText(
                f"{len(rows):,} records skipped or repaired, and failures" if rows else "No errors recorded."
            )
