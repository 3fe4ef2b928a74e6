"""The run history's table: every run, as the reader job found them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt

from ...units import duration_text
from .errors import Index

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
    def __init__(self, parent: Any = None) -> None:
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
