"""The run history's table: every run, as the reader job found them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QColor

from ...etl.urls import database_text
from ...units import duration_text
from .errors import Index

STATUS_TEXT = {
    "completed": "completed",
    "failed": "failed (can be resumed)",
    "cancelled": "cancelled (can be resumed)",
    "running": "running",
    "interrupted": "interrupted (can be resumed)",
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
# what a cell of each column typically holds, to size the columns without reading every row
COLUMN_SAMPLES = (
    "2026-11-28 10:00:00",
    "8_live_someone_export.tar",
    "postgresql://user:***@host/db",
    "12:34:56",
    "cancelled (can be resumed)",
    "Conversations",
    "1,000,000",
    "100,000",
)


class RunTableModel(QAbstractTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.runs: list[dict[str, Any]] = []
        self.sorting: tuple[int, Qt.SortOrder] = (0, Qt.SortOrder.DescendingOrder)  # newest first

    def set_runs(self, runs: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self.runs = self._sorted(runs)
        self.endResetModel()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sorted here, with one key a run (a proxy would ask data() tens of thousands of times)."""
        self.sorting = (column, order)
        self.layoutAboutToBeChanged.emit()
        self.runs = self._sorted(self.runs)
        self.layoutChanged.emit()

    def _sorted(self, runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        column, order = self.sorting
        if not 0 <= column < len(COLUMNS):
            return runs
        key = COLUMNS[column][0]
        blank = 0 if key in NUMERIC else ""
        return sorted(
            runs,
            key=lambda run: (run.get(key) is None, run.get(key) if run.get(key) is not None else blank),
            reverse=order == Qt.SortOrder.DescendingOrder,
        )

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
        if role == Qt.ItemDataRole.TextAlignmentRole and key in NUMERIC:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            if key == "status" and run.get("error_message"):
                return str(run["error_message"])
            return None if value is None else str(value)
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        reprocess = (run.get("kind") or "import") == "reprocess"
        if key == "export_path" and reprocess:
            return "reprocess of the archive"
        if key == "status" and reprocess and value in ("failed", "cancelled"):
            return f"{value} (reprocess again to continue)"
        if value is None:
            return ""
        if key == "started_at":
            return str(value)[:19].replace("T", " ")
        if key == "export_path":
            return Path(str(value)).name
        if key == "database_url":
            return database_text(str(value))
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


RECONCILIATION_COLUMNS = [
    ("id", "Conversation"),
    ("owner_id", "Owner"),
    ("in_export", "In export"),
    ("stored", "Stored"),
    ("skipped", "Skipped"),
]
RECONCILIATION_NUMERIC = {"in_export", "stored", "skipped"}
MISMATCH = QColor(255, 205, 205)  # a conversation whose records do not add up


class ReconciliationModel(QAbstractTableModel):
    """One run's conversations: records in the export, stored and skipped; a row that does not add up stands out."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[dict[str, Any]] = []

    def set_rows(self, rows: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self.rows = sorted(rows, key=lambda row: (row["adds_up"], row["owner_id"], row["id"]))  # mismatches first
        self.endResetModel()

    def mismatches(self) -> int:
        return sum(not row["adds_up"] for row in self.rows)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008 - Qt's names
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008 - Qt's names
        return 0 if parent.isValid() else len(RECONCILIATION_COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        key = RECONCILIATION_COLUMNS[index.column()][0]
        if role == Qt.ItemDataRole.BackgroundRole and not row["adds_up"]:
            return MISMATCH
        if role == Qt.ItemDataRole.ToolTipRole:
            if not row["adds_up"]:
                return (
                    f"Does not add up: {row['in_export']:,} in the export, {row['stored']:,} stored, "
                    f"{row['skipped']:,} skipped, {row['skip_rows']:,} error rows for skipped records"
                )
            return f"{row['skipped']:,} skipped, each in the error log" if row["skipped"] else None
        if role == Qt.ItemDataRole.TextAlignmentRole and key in RECONCILIATION_NUMERIC:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if key == "id":
            where = row["id"] or "(conversations without an id)"
            return f"{row['display_name']} — {where}" if row.get("display_name") else where
        if key == "owner_id":
            return row["owner_id"] or "shared thread"
        return f"{int(row[key]):,}"

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return RECONCILIATION_COLUMNS[section][1] if 0 <= section < len(RECONCILIATION_COLUMNS) else None
        return None
