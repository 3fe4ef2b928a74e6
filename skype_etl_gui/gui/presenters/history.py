"""The run history's presenter: the runs, read by a background job, and which of them can be resumed."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from ...etl.load import RESUMABLE
from ...units import count_text
from ..models.runs import ReconciliationModel, RunTableModel
from ..reading import DatabaseReader


class HistoryPresenter(QObject):
    note = Signal(str)  # how many runs, or why none can be shown
    loaded = Signal()  # the model holds what the database holds now
    reconciled = Signal(str)  # the selected run's conversations are in `details`: a line that sums them up

    def __init__(self, database: str | dict[str, Any], busy_run_id: str | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.busy_run_id = busy_run_id  # the import running in the window now: not resumable
        self.model = RunTableModel(self)
        self.details = ReconciliationModel(self)  # the selected run's, per conversation
        self.shown_run: str | None = None
        self.reader = DatabaseReader(database, self)
        self.reader.answered.connect(self._on_runs)
        self.reader.failed.connect(self._on_failed)
        self.reader.opened.connect(self._on_opened)
        self.waiting = 0

    def open(self) -> None:
        self.reader.start()
        self.refresh()

    def close(self) -> None:
        self.reader.close()

    def refresh(self) -> None:
        self.waiting += 1
        self.note.emit("Reading…")
        self.reader.ask("runs", lambda loader: loader.runs(limit=10_000))

    def show_run(self, run_id: str | None) -> None:
        """Read what a run found of each conversation (or show nothing)."""
        self.shown_run = run_id
        if run_id is None:
            self.details.set_rows([])
            self.reconciled.emit("")
            return
        self.reconciled.emit("Reading…")
        self.reader.ask(("reconciliation", run_id), lambda loader: loader.reconciliation(run_id))

    @Slot(bool)
    def _on_opened(self, exists: bool) -> None:
        if not exists:
            self.note.emit("No imports in this database yet.")

    @Slot(object, object)
    def _on_runs(self, tag: Any, runs: Any) -> None:
        if isinstance(tag, tuple):
            self._on_reconciliation(tag[1], runs or [])
            return
        self.waiting -= 1
        runs = runs or []
        self.model.set_runs(runs)
        count = count_text(len(runs), "run")
        self.note.emit(count if runs else "No imports in this database yet.")
        self.loaded.emit()

    def _on_reconciliation(self, run_id: str, rows: list[dict[str, Any]]) -> None:
        if run_id != self.shown_run:
            return  # another run was selected meanwhile
        self.details.set_rows(rows)
        if not rows:
            self.reconciled.emit("No conversations counted for this run (an earlier version's, or not an import).")
            return
        totals = [sum(row[k] for row in rows) for k in ("in_export", "stored", "skipped")]
        counted = (
            f"{len(rows):,} conversations: {totals[0]:,} message records in the export, "
            f"{totals[1]:,} stored, {totals[2]:,} skipped"
        )
        mismatches = self.details.mismatches()
        if mismatches:
            self.reconciled.emit(f"{counted}. {mismatches:,} do not add up: see the rows marked red.")
        else:
            self.reconciled.emit(f"{counted}. Every conversation adds up.")

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.waiting = 0
        self.model.set_runs([])
        self.note.emit(f"Cannot read the runs: {message}")
        self.loaded.emit()

    def is_resumable(self, run: dict[str, Any] | None) -> bool:
        if not run or (run.get("kind") or "import") != "import":
            return False  # a reprocess continues by running it again, not from the history
        return run["status"] in RESUMABLE and run["id"] != self.busy_run_id
