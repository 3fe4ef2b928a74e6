"""The error log: every skipped or repaired record and every failure, read back from the database.

A log can hold hundreds of thousands of rows, so the model never reads it whole:
the filters, the search and the sort order go to the database, which returns the
matching ids; the rows themselves are read a page at a time as the view shows
them. The sort/filter proxy in front of it passes the view's sort request on to
the model instead of sorting in memory.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any, TypeAlias

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelection,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QCloseEvent, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..errors_file import write_errors
from ..etl import DatabaseError, DatabaseUrlError, open_loader
from ..etl.context import SEVERITIES
from ..etl.hints import SEVERITY_MEANING, hint_for
from ..etl.loader import ErrorFilter, Loader
from ..etl.urls import DatabaseTarget, parse_database_url
from .widgets import plain_label, push_button

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
PHASES = ("extract", "transform", "load")
PAGE_ROWS = 200
CACHED_PAGES = 50
Index: TypeAlias = QModelIndex | QPersistentModelIndex


def open_for_reading(database: str | dict[str, Any] | DatabaseTarget) -> Loader | None:
    """A connected loader to read runs and errors; None when the local database does not exist yet."""
    target = database if isinstance(database, DatabaseTarget) else parse_database_url(database)
    if target.kind == "sqlite" and target.path is not None and not target.path.exists():
        return None  # reading must not create an empty database file
    loader = open_loader(target)
    loader.connect()
    try:
        loader.ensure_schema()
    except BaseException:
        loader.close()
        raise
    return loader


class ErrorTableModel(QAbstractTableModel):
    """The errors matching a filter, in a sort order, read from the database a page at a time."""

    failed = Signal(str)  # the database could not be read

    def __init__(self, loader: Loader | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loader = loader
        self.where = ErrorFilter()
        self.order_by, self.descending = "id", False
        self.ids: list[int] = []
        self._pages: OrderedDict[int, list[dict[str, Any] | None]] = OrderedDict()

    # --- what is shown ---------------------------------------------------------------------------
    def set_filter(self, where: ErrorFilter) -> None:
        self.where = where
        self.reload()

    def reload(self) -> None:
        """Read the matching ids again (after a filter change, a sort, or a run that added errors)."""
        self.beginResetModel()
        self._pages.clear()
        try:
            self.ids = self.loader.error_ids(self.where, self.order_by, self.descending) if self.loader else []
        except DatabaseError as exc:
            self.ids = []
            self.failed.emit(str(exc))
        self.endResetModel()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """By a column in the database; column -1 is the order the errors were recorded in."""
        if column >= len(COLUMNS):
            return
        wanted = ("id", False) if column < 0 else (COLUMNS[column][0], order == Qt.SortOrder.DescendingOrder)
        if wanted != (self.order_by, self.descending):
            self.order_by, self.descending = wanted
            self.reload()

    def row_at(self, row: int) -> dict[str, Any] | None:
        """One error's fields (None if it is gone from the database)."""
        if not 0 <= row < len(self.ids):
            return None
        number = row // PAGE_ROWS
        page = self._pages.get(number)
        if page is None:
            page = self._read_page(number)
            self._pages[number] = page
            while len(self._pages) > CACHED_PAGES:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(number)
        return page[row - number * PAGE_ROWS]

    def _read_page(self, number: int) -> list[dict[str, Any] | None]:
        ids = self.ids[number * PAGE_ROWS : (number + 1) * PAGE_ROWS]
        try:
            found = {r["id"]: r for r in self.loader.errors_by_id(ids)} if self.loader else {}
        except DatabaseError as exc:
            self.failed.emit(str(exc))
            found = {}
        return [found.get(i) for i in ids]

    # --- QAbstractTableModel ------------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008 - Qt's names
        return 0 if parent.isValid() else len(self.ids)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008 - Qt's names
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return None
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


class DatabaseSortProxy(QSortFilterProxyModel):
    """Passes sorting on to the source model (the database sorts); filters nothing itself."""

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        source = self.sourceModel()
        if source is not None:
            source.sort(column, order)


class ErrorLogWindow(QWidget):
    """The table with its filters, a search, a details pane, copy and export."""

    def __init__(self, database: Any, run_id: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("errorLogWindow")
        self.setWindowTitle("Error log")
        self.resize(1180, 680)
        self.loader: Loader | None = None
        self.total = 0  # errors in the database, whatever the filters
        self._filling = False  # the filters' choices are being replaced: no query for each change
        problem = ""
        try:
            self.loader = open_for_reading(database)
        except (DatabaseError, DatabaseUrlError) as exc:
            problem = str(exc)
        self.model = ErrorTableModel(self.loader, self)
        self.model.failed.connect(self._show_failure)
        self.proxy = DatabaseSortProxy(self)
        self.proxy.setSourceModel(self.model)
        self._build()
        self._fill_filters(run_id)
        self.apply_filters()
        if problem:
            self._show_failure(problem)

    # --- layout --------------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        filters = QHBoxLayout()
        self.run_filter = self._combo("runFilter", "Run")
        self.severity_filter = self._combo("severityFilter", "Severity")
        self.phase_filter = self._combo("phaseFilter", "Phase")
        self.type_filter = self._combo("typeFilter", "Type")
        for label, combo in (
            ("&Run", self.run_filter),
            ("Se&verity", self.severity_filter),
            ("P&hase", self.phase_filter),
            ("T&ype", self.type_filter),
        ):
            caption = QLabel(label)
            caption.setBuddy(combo)
            filters.addWidget(caption)
            filters.addWidget(combo, 1 if combo is self.run_filter else 0)
        self.search_edit = QLineEdit()
        self.search_edit.setObjectName("searchEdit")
        self.search_edit.setPlaceholderText("Search messages, types, ids and records")
        self.search_edit.setClearButtonEnabled(True)
        self.search_timer = QTimer(self)
        self.search_timer.setSingleShot(True)
        self.search_timer.setInterval(250)
        self.search_timer.timeout.connect(self.apply_filters)
        self.search_edit.textChanged.connect(lambda _: self.search_timer.start())
        self.search_edit.returnPressed.connect(self.apply_filters)
        filters.addWidget(self.search_edit, 2)
        layout.addLayout(filters)

        self.table = QTableView()
        self.table.setObjectName("errorTable")
        self.table.setModel(self.proxy)
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # as recorded, at first
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        for column, width in enumerate((140, 75, 75, 65, 170, 120, 160)):
            header.resizeSection(column, width)
        header.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.table.selectionModel().currentRowChanged.connect(self._show_details)
        copy = QShortcut(QKeySequence.StandardKey.Copy, self.table)
        copy.activated.connect(self.copy_selected)

        self.hint_label = plain_label("errorHint")
        self.details = QPlainTextEdit()
        self.details.setObjectName("errorDetails")
        self.details.setReadOnly(True)
        self.details.setPlaceholderText("Choose a row to see the record and what to do about it.")
        details = QWidget()
        details_layout = QVBoxLayout(details)
        details_layout.setContentsMargins(0, 0, 0, 0)
        details_layout.addWidget(self.hint_label)
        details_layout.addWidget(self.details, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(details)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        layout.addWidget(splitter, 1)

        bottom = QHBoxLayout()
        self.count_label = plain_label("errorCountLabel")
        self.copy_button = push_button(
            "&Copy", "copyErrorsButton", self.copy_selected, "Copy the selected rows as tab-separated text"
        )
        self.export_button = push_button(
            "E&xport…",
            "exportErrorsButton",
            self.choose_export_file,
            "Save the rows shown (all of them, as filtered) as CSV or JSON",
        )
        refresh = push_button("Re&fresh", "refreshErrorsButton", self.refresh)
        bottom.addWidget(self.count_label, 1)
        for button in (refresh, self.copy_button, self.export_button):
            bottom.addWidget(button)
        layout.addLayout(bottom)
        self._selection_changed()

    def _combo(self, name: str, what: str) -> QComboBox:
        combo = QComboBox()
        combo.setObjectName(name)
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        combo.setAccessibleName(f"{what} filter")
        combo.currentIndexChanged.connect(self.apply_filters)
        return combo

    def _fill_filters(self, run_id: str | None) -> None:
        """The choices, with counts, from what the database holds; keeps the current choices if it can."""
        kinds: list[tuple[Any, ...]] = []
        runs: dict[str, dict[str, Any]] = {}
        if self.loader is not None:
            try:
                kinds = self.loader.error_kinds()
                runs = {r["id"]: r for r in self.loader.runs(limit=1000)}
            except DatabaseError as exc:
                self._show_failure(str(exc))
        self.total = sum(k[4] for k in kinds)

        def counted(position: int) -> dict[Any, int]:
            counts: dict[Any, int] = {}
            for kind in kinds:
                counts[kind[position]] = counts.get(kind[position], 0) + kind[4]
            return counts

        by_run = counted(0)
        run_items = [
            (r, _run_label(runs.get(r), r, by_run[r])) for r in sorted(by_run, key=lambda r: _started(runs, r))
        ]
        if run_id and run_id not in by_run:
            run_items.append((run_id, _run_label(runs.get(run_id), run_id, 0)))
        by_severity = counted(1)
        severities = [(s, f"{s} ({by_severity.get(s, 0):,})") for s in SEVERITIES]
        by_phase = counted(2)
        phases = [(p, f"{p} ({by_phase[p]:,})") for p in PHASES if p in by_phase]
        by_type = counted(3)
        types = [(t, f"{t} ({n:,})") for t, n in sorted(by_type.items(), key=lambda item: str(item[0])) if t]
        self._filling = True
        try:
            for combo, everything, items, wanted in (
                (self.run_filter, "All runs", run_items, run_id),
                (self.severity_filter, "All severities", severities, None),
                (self.phase_filter, "All phases", phases, None),
                (self.type_filter, "All types", types, None),
            ):
                current = wanted if wanted is not None else combo.currentData()
                combo.clear()
                combo.addItem(everything, None)
                for value, label in items:
                    combo.addItem(label, value)
                found = combo.findData(current)
                combo.setCurrentIndex(max(found, 0))
        finally:
            self._filling = False

    # --- filtering -------------------------------------------------------------------------------------
    def current_filter(self) -> ErrorFilter:
        text = self.search_edit.text().strip()
        return ErrorFilter(
            run_id=self.run_filter.currentData(),
            severity=self.severity_filter.currentData(),
            phase=self.phase_filter.currentData(),
            error_type=self.type_filter.currentData(),
            text=text or None,
        )

    @Slot()
    def apply_filters(self) -> None:
        if self._filling:
            return
        self.search_timer.stop()
        self.model.set_filter(self.current_filter())
        self._update_count()
        self._show_details(QModelIndex())

    @Slot()
    def refresh(self) -> None:
        """Read the database again: new runs, new errors."""
        self._fill_filters(self.run_filter.currentData())
        self.apply_filters()

    def _update_count(self) -> None:
        shown = self.model.rowCount()
        if self.loader is None:
            text = "No imports in this database yet."
        elif not self.total:
            text = "No errors recorded: every record was stored as exported."
        elif shown == self.total:
            text = f"{shown:,} records skipped or repaired, and failures"
        else:
            text = f"Showing {shown:,} of {self.total:,}"
        self.count_label.setText(text)
        self.export_button.setEnabled(shown > 0)

    @Slot(str)
    def _show_failure(self, message: str) -> None:
        self.count_label.setText(f"Cannot read the errors: {message}")

    # --- details ------------------------------------------------------------------------------------------
    @Slot(QModelIndex, QModelIndex)
    def _show_details(self, current: QModelIndex, _previous: QModelIndex | None = None) -> None:
        row = self.model.row_at(self.proxy.mapToSource(current).row()) if current.isValid() else None
        if row is None:
            self.hint_label.setText("")
            self.details.setPlainText("")
            return
        severity = row.get("severity") or ""
        self.hint_label.setText(f"What to do: {hint_for(row.get('error_type'), severity)}")
        self.details.setPlainText(details_text(row))

    @Slot()
    def _selection_changed(self, *_: QItemSelection) -> None:
        self.copy_button.setEnabled(self.table.selectionModel().hasSelection())

    # --- copy and export -------------------------------------------------------------------------------------
    def selected_rows(self) -> list[dict[str, Any]]:
        rows = sorted({self.proxy.mapToSource(i).row() for i in self.table.selectionModel().selectedRows()})
        found = (self.model.row_at(r) for r in rows)
        return [r for r in found if r is not None]

    @Slot()
    def copy_selected(self) -> None:
        """The selected rows as tab-separated text, with a header line."""
        rows = self.selected_rows()
        if not rows:
            return
        lines = ["\t".join(title for _, title in COLUMNS)]
        for row in rows:
            lines.append("\t".join(_one_line(row.get(name)) for name, _ in COLUMNS))
        QGuiApplication.clipboard().setText("\n".join(lines) + "\n")
        self.count_label.setText(f"Copied {len(rows):,} rows.")

    @Slot()
    def choose_export_file(self) -> None:
        path, chosen = QFileDialog.getSaveFileName(
            self, "Export the errors shown", str(Path.home() / "skype-import-errors.csv"), "CSV (*.csv);;JSON (*.json)"
        )
        if path:
            self.export_to(Path(path), "json" if "json" in chosen.lower() or path.lower().endswith(".json") else "csv")

    def export_to(self, path: Path, kind: str) -> int:
        """Write every row the filters let through, in the order shown; returns how many."""
        if self.loader is None:
            return 0
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            with path.open("w", encoding="utf-8", newline="") as stream:
                count = write_errors(self.loader.iter_errors(self.model.ids), stream, kind)
        except (OSError, DatabaseError) as exc:
            self.count_label.setText(f"Could not export: {exc}")
            return 0
        finally:
            QGuiApplication.restoreOverrideCursor()
        self.count_label.setText(f"Exported {count:,} rows to {path}")
        return count

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        if self.loader is not None:
            self.loader.close()
            self.loader = None
            self.model.loader = None
        event.accept()


def details_text(row: dict[str, Any]) -> str:
    """The details pane: everything recorded about one error, as plain text."""
    severity = row.get("severity") or ""
    where = ", ".join(
        f"{label} {row[key]}"
        for key, label in (("conversation_id", "conversation"), ("message_id", "message"))
        if row.get(key)
    )
    lines = [
        f"{row.get('error_type')} · {severity}: {SEVERITY_MEANING.get(severity, '')}",
        f"Run {row.get('run_id')}, {row.get('phase')} phase, {row.get('created_at')}",
    ]
    if where:
        lines.append(where[0].upper() + where[1:])
    lines += ["", str(row.get("message") or "")]
    snippet = row.get("raw_snippet")
    if snippet:
        lines += ["", "The record as exported (shortened):", str(snippet)]
    return "\n".join(lines)


def _one_line(value: Any) -> str:
    return "" if value is None else str(value).replace("\t", " ").replace("\r", " ").replace("\n", " ")


def _started(runs: dict[str, dict[str, Any]], run_id: Any) -> str:
    return str((runs.get(run_id) or {}).get("started_at") or "")


def _run_label(run: dict[str, Any] | None, run_id: str, count: int) -> str:
    if run is None:
        return f"{run_id} ({count:,})"
    name = Path(str(run.get("export_path") or "")).name or "?"
    started = str(run.get("started_at") or "")[:16].replace("T", " ")
    return f"{started} {name} ({count:,})"
