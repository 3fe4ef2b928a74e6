"""The error log window: the table with its filters, a search, a details pane, copy and export. No I/O here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelection, QModelIndex, Qt, QTimer, Slot
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
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ...etl.hints import hint_for
from ...etl.load import ErrorFilter
from ..models.errors import COLUMNS
from ..presenters.error_log import ErrorLogPresenter, details_text
from ..widgets import above_details, plain_label, push_button


class ErrorLogWindow(QWidget):
    def __init__(self, database: Any, run_id: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("errorLogWindow")
        self.setWindowTitle("Error log")
        self.resize(1180, 680)
        self.presenter = ErrorLogPresenter(database, run_id, self)
        self.model = self.presenter.model
        self._filling = False  # the filters' choices are being replaced: no query for each change
        self._build()
        presenter = self.presenter
        presenter.choices.connect(self._fill_filters)
        presenter.count_text.connect(self._show_count)
        presenter.failed.connect(self.count_label.setText)
        presenter.exported.connect(self.count_label.setText)
        presenter.exporting_changed.connect(self._update_export_button)
        presenter.copied.connect(self._to_clipboard)
        presenter.loaded.connect(self._loaded)
        self.model.dataChanged.connect(self._page_arrived)
        self.count_label.setText("Reading…")
        QTimer.singleShot(0, presenter.open)  # once the window shows: its reads do not slow its making

    @property
    def total(self) -> int:
        return self.presenter.total or 0

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
        self.table.setModel(self.model)  # no sort proxy: the model hands sorting to the database itself
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
        layout.addWidget(above_details(self.table, self.hint_label, self.details, 1), 1)

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
        self.export_button.setEnabled(False)

    def _combo(self, name: str, what: str) -> QComboBox:
        combo = QComboBox()
        combo.setObjectName(name)
        # sized by a typical choice, not by measuring each of maybe thousands (runs) in the GUI thread
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(18)
        combo.setAccessibleName(f"{what} filter")
        combo.currentIndexChanged.connect(self.apply_filters)
        return combo

    @Slot(object)
    def _fill_filters(self, choices: dict[str, Any]) -> None:
        """The choices, with counts; keeps the current choices if it can (the run asked for at first)."""
        self._filling = True
        try:
            for combo, everything, items, wanted in (
                (self.run_filter, "All runs", choices["runs"], self.presenter.where.run_id),
                (self.severity_filter, "All severities", choices["severities"], self.presenter.where.severity),
                (self.phase_filter, "All phases", choices["phases"], self.presenter.where.phase),
                (self.type_filter, "All types", choices["types"], self.presenter.where.error_type),
            ):
                combo.clear()
                combo.addItem(everything, None)
                for value, label in items:
                    combo.addItem(label, value)
                combo.setCurrentIndex(max(combo.findData(wanted), 0))
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
        wanted = self.current_filter()
        if wanted != self.presenter.where:
            self.presenter.apply(wanted)

    @Slot()
    def refresh(self) -> None:
        """Read the database again: new runs, new errors."""
        self.presenter.refresh()

    @Slot(str)
    def _show_count(self, text: str) -> None:
        self.count_label.setText(text)
        self._update_export_button()

    @Slot()
    def _update_export_button(self, *_: object) -> None:
        self.export_button.setEnabled(self.model.rowCount() > 0 and not self.presenter.is_exporting)

    @Slot()
    def _loaded(self) -> None:
        self._update_export_button()
        self._show_details(QModelIndex())

    # --- details ------------------------------------------------------------------------------------------
    @Slot(QModelIndex, QModelIndex)
    def _show_details(self, current: QModelIndex, _previous: QModelIndex | None = None) -> None:
        source = current.row() if current.isValid() else -1
        row = self.model.row_at(source) if source >= 0 else None
        if row is None:
            self.hint_label.setText("")
            self.details.setPlainText("Reading…" if source >= 0 and not self.model.is_loaded(source) else "")
            return
        severity = row.get("severity") or ""
        self.hint_label.setText(f"What to do: {hint_for(row.get('error_type'), severity)}")
        self.details.setPlainText(details_text(row))

    @Slot(QModelIndex, QModelIndex)
    def _page_arrived(self, first: QModelIndex, last: QModelIndex) -> None:
        current = self.table.currentIndex()
        if current.isValid() and first.row() <= current.row() <= last.row():
            self._show_details(current)

    @Slot()
    def _selection_changed(self, *_: QItemSelection) -> None:
        self.copy_button.setEnabled(self.table.selectionModel().hasSelection())

    # --- copy and export -------------------------------------------------------------------------------------
    def selected_rows(self) -> list[int]:
        return sorted({i.row() for i in self.table.selectionModel().selectedRows()})

    @Slot()
    def copy_selected(self) -> None:
        """The selected rows as tab-separated text, with a header line."""
        rows = self.selected_rows()
        if rows:
            self.presenter.copy(rows)

    @Slot(str)
    def _to_clipboard(self, text: str) -> None:
        QGuiApplication.clipboard().setText(text)
        self.count_label.setText(f"Copied {text.count(chr(10)) - 1:,} rows.")

    @Slot()
    def choose_export_file(self) -> None:
        path, chosen = QFileDialog.getSaveFileName(
            self, "Export the errors shown", str(Path.home() / "skype-import-errors.csv"), "CSV (*.csv);;JSON (*.json)"
        )
        if path:
            self.export_to(Path(path), "json" if "json" in chosen.lower() or path.lower().endswith(".json") else "csv")

    def export_to(self, path: Path, kind: str) -> None:
        """Write every row the filters let through, in the order shown (in a job; the count line tells)."""
        self.presenter.export(path, kind)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        self.presenter.close()
        event.accept()
