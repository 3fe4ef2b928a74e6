"""The error log's table: the ids of the matching errors, and their rows a page at a time, as a job reads them.

A log can hold hundreds of thousands of rows, so the model never holds it whole
and never reads it itself: it knows the sorted ids (from the database, as an
array: one buffer, not a Python int each), asks for a page (`page_wanted`) the
first time the view shows one of its rows, shows "…" meanwhile, and fills the
page in when the answer comes (`add_page`). The view's sort request goes on to
the database too (`sort_wanted`); no proxy sits in between (it would map every
row again on each reset).
"""

from __future__ import annotations

from array import array
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, TypeAlias

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal

from ...etl.hints import SEVERITY_MEANING

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
PAGE_ROWS = 200
CACHED_PAGES = 50
LOADING = "…"
Index: TypeAlias = QModelIndex | QPersistentModelIndex


class ErrorTableModel(QAbstractTableModel):
    page_wanted = Signal(int, int, object)  # generation, page number, the page's ids
    sort_wanted = Signal(str, bool)  # column name, descending

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.ids: Sequence[int] = array("q")
        self.order_by, self.descending = "id", False
        self.generation = 0  # a new list of ids: answers for older pages are dropped
        self._pages: OrderedDict[int, list[dict[str, Any] | None]] = OrderedDict()
        self._asked: set[int] = set()

    # --- fed by the presenter -------------------------------------------------------------------------
    def set_ids(self, ids: Sequence[int]) -> None:
        self.beginResetModel()
        self.generation += 1
        self.ids = ids
        self._pages.clear()
        self._asked.clear()
        self.endResetModel()

    def add_page(self, generation: int, number: int, rows: list[dict[str, Any]]) -> None:
        """A page read for `generation`'s ids; rows missing from the database show as gone."""
        if generation != self.generation:
            return
        self._asked.discard(number)
        ids = self.ids[number * PAGE_ROWS : (number + 1) * PAGE_ROWS]
        found = {r["id"]: r for r in rows}
        self._pages[number] = [found.get(i) for i in ids]
        while len(self._pages) > CACHED_PAGES:
            self._pages.popitem(last=False)
        first, last = number * PAGE_ROWS, number * PAGE_ROWS + len(ids) - 1
        if ids:
            self.dataChanged.emit(self.index(first, 0), self.index(last, len(COLUMNS) - 1))

    @property
    def pages_read(self) -> int:
        return len(self._pages)

    def is_loaded(self, row: int) -> bool:
        return row // PAGE_ROWS in self._pages

    def row_at(self, row: int) -> dict[str, Any] | None:
        """One error's fields, or None until its page has been read (it is asked for) or if it is gone."""
        if not 0 <= row < len(self.ids):
            return None
        number = row // PAGE_ROWS
        page = self._pages.get(number)
        if page is None:
            self._want(number)
            return None
        self._pages.move_to_end(number)
        return page[row - number * PAGE_ROWS]

    def _want(self, number: int) -> None:
        if number not in self._asked:
            self._asked.add(number)
            ids = list(self.ids[number * PAGE_ROWS : (number + 1) * PAGE_ROWS])
            self.page_wanted.emit(self.generation, number, ids)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """By a column, in the database; column -1 is the order the errors were recorded in."""
        if column >= len(COLUMNS):
            return
        wanted = ("id", False) if column < 0 else (COLUMNS[column][0], order == Qt.SortOrder.DescendingOrder)
        if wanted != (self.order_by, self.descending):
            self.order_by, self.descending = wanted
            self.sort_wanted.emit(*wanted)

    # --- QAbstractTableModel ------------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008 - Qt's names
        return 0 if parent.isValid() else len(self.ids)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008 - Qt's names
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return None
        if not self.is_loaded(index.row()):
            self.row_at(index.row())  # asks for its page
            return LOADING if role == Qt.ItemDataRole.DisplayRole else None
        row = self.row_at(index.row())
        if row is None:
            return "(no longer in the database)" if index.column() == len(COLUMNS) - 1 else ""
        key = COLUMNS[index.column()][0]
        value = row.get(key)
        if value is None:
            return ""
        text = str(value)
        if role == Qt.ItemDataRole.ToolTipRole and key == "severity":
            return f"{text}: {SEVERITY_MEANING.get(text, '')}"
        if role == Qt.ItemDataRole.DisplayRole:
            if key == "created_at":
                return text[:19].replace("T", " ")  # the full time is in the tooltip and the details
            if key == "run_id":
                return text[:8]
        return text

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section][1] if 0 <= section < len(COLUMNS) else None
        return None
