"""The error log's presenter: filters, sort, counts, pages, copy and export, all read by a background job.

The view (views/error_log.py) shows the model and the filter choices and tells
this what the person chose. Every read goes to the window's DatabaseReader;
the export runs in a job of its own, with its own connection.
"""

from __future__ import annotations

import os
from array import array
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from ...etl.hints import SEVERITY_MEANING
from ...etl.load import ErrorFilter
from ...etl.run.context import SEVERITIES
from .. import work
from ..jobs import Job
from ..models.errors import COLUMNS, ErrorTableModel
from ..reading import DatabaseReader

PHASES = ("extract", "transform", "load")


class ErrorLogPresenter(QObject):
    choices = Signal(object)  # {"runs", "severities", "phases", "types": [(value, label)], "run": to select}
    count_text = Signal(str)
    loaded = Signal()  # the ids for the current filter and order are in the model
    copied = Signal(str)  # tab-separated rows for the clipboard
    failed = Signal(str)
    exported = Signal(str)  # what the export did (or why it could not)
    exporting_changed = Signal(bool)  # an export job started (True) or its thread ended (False)

    def __init__(self, database: str | dict[str, Any], run_id: str | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.database = database
        self.model = ErrorTableModel(self)
        self.reader = DatabaseReader(database, self)
        self.where = ErrorFilter(run_id=run_id)
        self.total: int | None = None  # errors in the database, whatever the filters
        self.waiting = 0  # requests for ids not yet answered
        self.exporting: Job | None = None
        self._problem = ""
        self.model.page_wanted.connect(self._read_page)
        self.model.sort_wanted.connect(self._sorted)
        self.reader.answered.connect(self._on_answer)
        self.reader.failed.connect(self._on_failed)
        self.reader.opened.connect(lambda exists: self._update_count())

    def open(self) -> None:
        self.reader.start()
        self.refresh()

    def close(self) -> None:
        self.reader.close()

    @property
    def problem(self) -> str:
        """Why the database cannot be read ("" when it can)."""
        return self._problem

    @property
    def settled(self) -> bool:
        """Nothing asked is still on its way (for tests and the status line)."""
        return self.waiting == 0 and self.reader.exists is not None or bool(self._problem)

    # --- asking --------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the filter choices and the matching ids again: new runs, new errors."""
        run_id = self.where.run_id
        self.reader.ask(
            "choices", lambda loader: counted_choices(loader.error_kinds(), loader.runs(limit=1000), run_id)
        )
        self._read_ids()

    def apply(self, where: ErrorFilter) -> None:
        self.where = where
        self._read_ids()

    @Slot(str, bool)
    def _sorted(self, order_by: str, descending: bool) -> None:
        self._read_ids()

    def _read_ids(self) -> None:
        where, order_by, descending = self.where, self.model.order_by, self.model.descending
        self.waiting += 1
        self.reader.ask(
            ("ids", where, order_by, descending), lambda loader: ids_array(loader, where, order_by, descending)
        )

    @Slot(int, int, object)
    def _read_page(self, generation: int, number: int, ids: list[int]) -> None:
        self.reader.ask(("page", generation, number), lambda loader: loader.errors_by_id(ids))

    # --- answers ---------------------------------------------------------------------------------------------
    @Slot(object, object)
    def _on_answer(self, tag: Any, result: Any) -> None:
        kind = tag[0] if isinstance(tag, tuple) else tag
        if kind == "ids":
            self.waiting -= 1
            _, where, order_by, descending = tag
            if (where, order_by, descending) == (self.where, self.model.order_by, self.model.descending):
                self.model.set_ids(result if result is not None else array("q"))
                self._update_count()
                self.loaded.emit()
        elif kind == "page":
            self.model.add_page(tag[1], tag[2], result or [])
        elif kind == "choices":
            choices, self.total = result or (filter_choices([], [], self.where.run_id), 0)
            self.choices.emit(choices)
            self._update_count()
        elif kind == "copy":
            self.copied.emit(rows_as_text(result or []))

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._problem = message
        self.waiting = 0
        self.model.set_ids(array("q"))
        self.failed.emit(f"Cannot read the errors: {message}")
        self.loaded.emit()

    def _update_count(self) -> None:
        if self._problem:
            return
        shown = len(self.model.ids)
        if self.reader.exists is False:
            text = "No imports in this database yet."
        elif self.total is None or (self.waiting and not shown):
            text = "Reading…"
        elif not self.total:
            text = "No errors recorded: every record was stored as exported."
        elif shown == self.total:
            text = f"{shown:,} records skipped or repaired, and failures"
        else:
            text = f"Showing {shown:,} of {self.total:,}"
        self.count_text.emit(text)

    # --- copy and export ---------------------------------------------------------------------------------------
    def copy(self, rows: list[int]) -> None:
        """The given rows as tab-separated text (`copied`), read first if they are not on screen."""
        found = [self.model.row_at(r) for r in rows]
        if all(row is not None for row in found):
            self.copied.emit(rows_as_text(found))  # type: ignore[arg-type]
            return
        ids = [self.model.ids[r] for r in rows if 0 <= r < len(self.model.ids)]
        self.reader.ask(("copy",), lambda loader: loader.errors_by_id(ids))

    def export(self, path: Path, kind: str) -> None:
        """Every row the filters let through, in the order shown, to CSV or JSON, in a job."""
        if self.is_exporting:
            return  # the view keeps its Export button off meanwhile
        self._export_path = path
        order = (self.model.order_by, self.model.descending)
        job = Job(work.export_errors, self.database, self.where, order, str(path), kind, name="export-errors")
        job.returned.connect(self._on_exported)
        job.errored.connect(self._on_export_failed)
        self.exported.emit(f"Exporting to {path}…")
        job.finished.connect(self._export_ended)
        self.exporting = job.start()
        self.exporting_changed.emit(True)

    @property
    def is_exporting(self) -> bool:
        return self.exporting is not None and self.exporting.is_running()

    @Slot()
    def _export_ended(self) -> None:
        self.exporting_changed.emit(False)

    @Slot(object)
    def _on_exported(self, count: int) -> None:
        self.exported.emit(f"Exported {count:,} rows to {self._export_path}")

    @Slot(object)
    def _on_export_failed(self, exc: BaseException) -> None:
        self.exported.emit(f"Could not export: {exc}")


def ids_array(loader: Any, where: ErrorFilter, order_by: str, descending: bool) -> array[int]:
    """The matching ids as one array, made in the reader's thread (replacing it in the GUI thread is then cheap)."""
    return array("q", loader.error_ids(where, order_by, descending))


def rows_as_text(rows: list[dict[str, Any]]) -> str:
    """Rows as tab-separated text with a header line, full values (not the shortened ones shown)."""
    lines = ["\t".join(title for _, title in COLUMNS)]
    for row in rows:
        lines.append("\t".join(_one_line(row.get(name)) for name, _ in COLUMNS))
    return "\n".join(lines) + "\n"


def _one_line(value: Any) -> str:
    return "" if value is None else str(value).replace("\t", " ").replace("\r", " ").replace("\n", " ")


def counted_choices(
    kinds: list[tuple[Any, ...]], runs: list[dict[str, Any]], run_id: str | None
) -> tuple[dict[str, Any], int]:
    """The choices and the number of errors in the database (worked out in the reader's thread)."""
    return filter_choices(kinds, runs, run_id), sum(k[4] for k in kinds)


def filter_choices(kinds: list[tuple[Any, ...]], runs: list[dict[str, Any]], run_id: str | None) -> dict[str, Any]:
    """The filters' choices with their counts, from (run, severity, phase, type, count) and the runs."""
    by_id = {r["id"]: r for r in runs}

    def counted(position: int) -> dict[Any, int]:
        counts: dict[Any, int] = {}
        for kind in kinds:
            counts[kind[position]] = counts.get(kind[position], 0) + kind[4]
        return counts

    by_run = counted(0)
    run_items = [(r, run_label(by_id.get(r), r, by_run[r])) for r in sorted(by_run, key=lambda r: _started(by_id, r))]
    if run_id and run_id not in by_run:
        run_items.append((run_id, run_label(by_id.get(run_id), run_id, 0)))
    by_severity = counted(1)
    by_phase = counted(2)
    by_type = counted(3)
    return {
        "runs": run_items,
        "severities": [(s, f"{s} ({by_severity.get(s, 0):,})") for s in SEVERITIES],
        "phases": [(p, f"{p} ({by_phase[p]:,})") for p in PHASES if p in by_phase],
        "types": [(t, f"{t} ({n:,})") for t, n in sorted(by_type.items(), key=lambda item: str(item[0])) if t],
        "run": run_id,
    }


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


def _started(runs: dict[str, dict[str, Any]], run_id: Any) -> str:
    return str((runs.get(run_id) or {}).get("started_at") or "")


def run_label(run: dict[str, Any] | None, run_id: str, count: int) -> str:
    if run is None:
        return f"{run_id} ({count:,})"
    name = os.path.basename(str(run.get("export_path") or "")) or "?"  # not Path: a thousand runs, cheaply
    started = str(run.get("started_at") or "")[:16].replace("T", " ")
    return f"{started} {name} ({count:,})"
