"""The error log and run history windows, driven with pytest-qt on real databases."""

from __future__ import annotations

import csv
import io
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QItemSelectionModel, QPoint, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from skype_etl_gui import applog
from skype_etl_gui.errors_file import write_errors
from skype_etl_gui.etl import ETLPipeline, open_loader
from skype_etl_gui.etl.hints import HINTS
from skype_etl_gui.etl.load import ERROR_FIELDS
from skype_etl_gui.gui.models.errors import PAGE_ROWS
from skype_etl_gui.gui.models.runs import COLUMNS as RUN_COLUMNS
from skype_etl_gui.gui.models.runs import MISMATCH
from skype_etl_gui.gui.views.error_log import ErrorLogWindow
from skype_etl_gui.gui.views.run_history import RunHistoryWindow
from skype_etl_gui.paths import log_dir
from skype_etl_gui.sample import write_sample
from tests.conftest import (
    KNOWN_ERRORS,
    Database,
    conversation,
    error_key,
    export_document,
    fill_error_log,
    message,
    write_bad_export,
    write_export,
)
from tests.etl.test_resume import interrupted
from tests.gui.test_main_window import FINISH_MS, button, make_window, problem, run_to_end

SECOND_RUN_ERRORS = [("transform", "warning", "InvalidTimestamp", "8:x", "1")]


@pytest.fixture
def two_runs(tmp_path: Path, db: Database) -> tuple[Database, str, str]:
    """The known-bad export, then another with one bad record: two runs' errors in one database."""
    first = ETLPipeline(db.url).run(write_bad_export(tmp_path / "bad.json"))
    other = export_document([conversation("8:x", [message("1", originalarrivaltime="later")])])
    second = ETLPipeline(db.url).run(write_export(tmp_path / "other.json", other))
    return db, first["run_id"], second["run_id"]


def open_log(qtbot: Any, database: Any, run_id: str | None = None) -> ErrorLogWindow:
    window = ErrorLogWindow(database, run_id)
    qtbot.addWidget(window)
    window.show()
    settle(qtbot, window)
    return window


def settle(qtbot: Any, window: ErrorLogWindow) -> None:
    """Wait until what was asked of the database has come back: the choices, the ids, every page."""
    presenter, model = window.presenter, window.model
    qtbot.waitUntil(
        lambda: presenter.settled and (presenter.total is not None or bool(presenter.problem)), timeout=20_000
    )
    for row in range(0, model.rowCount(), PAGE_ROWS):
        model.row_at(row)  # asks for the pages not read yet
    qtbot.waitUntil(lambda: all(model.is_loaded(r) for r in range(0, model.rowCount(), PAGE_ROWS)), timeout=20_000)


def shown(qtbot: Any, window: ErrorLogWindow) -> list[dict[str, Any]]:
    """The rows as the table shows them, top to bottom, once they are read."""
    settle(qtbot, window)
    assert window.table.model() is window.model
    rows = [window.model.row_at(r) for r in range(window.model.rowCount())]
    assert all(r is not None for r in rows)
    return rows  # type: ignore[return-value]


def choose(combo: Any, value: Any) -> None:
    index = combo.findData(value)
    assert index >= 0, value
    combo.setCurrentIndex(index)


def test_the_log_shows_exactly_the_stored_rows(qtbot: Any, two_runs: tuple[Database, str, str]) -> None:
    db, first, second = two_runs
    window = open_log(qtbot, db.url)
    stored = db.query(f"SELECT {', '.join(ERROR_FIELDS)} FROM etl_errors ORDER BY id")
    assert [tuple(r[f] for f in ERROR_FIELDS) for r in shown(qtbot, window)] == stored
    assert window.table.objectName() == "errorTable"
    assert window.count_label.text() == f"{len(stored)} records skipped or repaired, and failures"
    # the cells say what the database says
    model = window.table.model()
    assert [model.index(r, 7).data() for r in range(model.rowCount())] == [row[8] for row in stored]
    # opened for one run (as the main window does), it shows that run's
    only_first = open_log(qtbot, db.url, first)
    assert only_first.run_filter.currentData() == first
    assert sorted(map(error_key, shown(qtbot, only_first)), key=str) == KNOWN_ERRORS
    assert only_first.count_label.text() == f"Showing {len(KNOWN_ERRORS)} of {len(stored)}"
    choose(only_first.run_filter, second)
    assert [error_key(r) for r in shown(qtbot, only_first)] == SECOND_RUN_ERRORS


def test_filters_and_search_narrow(qtbot: Any, two_runs: tuple[Database, str, str]) -> None:
    db, first, _ = two_runs
    window = open_log(qtbot, db.url, first)
    labels = [window.severity_filter.itemText(i) for i in range(window.severity_filter.count())]
    assert labels == ["All severities", "warning (7)", "error (3)", "fatal (0)"]
    assert window.type_filter.count() == 1 + len({k[2] for k in KNOWN_ERRORS} | {"InvalidTimestamp"})

    def expect(predicate: Any) -> None:
        assert sorted(map(error_key, shown(qtbot, window)), key=str) == [k for k in KNOWN_ERRORS if predicate(k)]

    choose(window.severity_filter, "error")
    expect(lambda k: k[1] == "error")
    choose(window.phase_filter, "transform")
    expect(lambda k: k[1] == "error" and k[0] == "transform")
    choose(window.severity_filter, None)
    choose(window.phase_filter, "extract")
    expect(lambda k: k[0] == "extract")
    choose(window.phase_filter, None)
    choose(window.type_filter, "NonStringId")
    expect(lambda k: k[2] == "NonStringId")
    choose(window.type_filter, None)
    # the search waits for typing to stop, then asks the database
    qtbot.keyClicks(window.search_edit, "TIMESTAMP")
    assert window.presenter.where.text is None
    qtbot.waitUntil(lambda: window.presenter.where.text == "TIMESTAMP", timeout=5_000)
    expect(lambda k: k[2] == "InvalidTimestamp")
    window.search_edit.setText("100%")
    window.apply_filters()
    expect(lambda k: k[2] == "MissingMessageId")
    window.search_edit.setText("nothing like this")
    window.apply_filters()
    settle(qtbot, window)
    assert window.model.rowCount() == 0 and not window.export_button.isEnabled()
    assert window.count_label.text() == f"Showing 0 of {len(KNOWN_ERRORS) + 1}"
    window.search_edit.clear()
    window.apply_filters()
    expect(lambda k: True)


def test_sorting_goes_to_the_database(qtbot: Any, two_runs: tuple[Database, str, str]) -> None:
    db = two_runs[0]
    window = open_log(qtbot, db.url)
    recorded = [r["id"] for r in shown(qtbot, window)]
    assert recorded == sorted(recorded)
    type_column = 6
    # a click on the header sorts, and the database does the sorting
    qtbot.mouseClick(
        window.table.horizontalHeader().viewport(),
        Qt.MouseButton.LeftButton,
        pos=QPoint(window.table.horizontalHeader().sectionViewportPosition(type_column) + 5, 5),
    )
    assert window.model.order_by == "error_type"
    types = [r["error_type"] for r in shown(qtbot, window)]
    assert types in (sorted(types), sorted(types, reverse=True)) and types != [r["error_type"] for r in db_rows(db)]
    window.table.sortByColumn(type_column, Qt.SortOrder.DescendingOrder)
    assert [r["error_type"] for r in shown(qtbot, window)] == sorted(types, reverse=True)
    window.table.sortByColumn(type_column, Qt.SortOrder.AscendingOrder)
    assert [r["error_type"] for r in shown(qtbot, window)] == sorted(types)
    window.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
    assert [r["id"] for r in shown(qtbot, window)] == recorded


def db_rows(db: Database) -> list[dict[str, Any]]:
    with open_loader(db.url) as loader:
        return loader.errors()


def test_details_pane_shows_the_record_as_text_and_a_hint(qtbot: Any, two_runs: tuple[Database, str, str]) -> None:
    db, first, _ = two_runs
    window = open_log(qtbot, db.url, first)
    assert window.details.toPlainText() == "" and window.hint_label.text() == ""
    rows = shown(qtbot, window)
    position = next(i for i, r in enumerate(rows) if r["error_type"] == "MissingMessageId")
    window.table.selectRow(position)
    details = window.details.toPlainText()
    assert "MissingMessageId · error: skipped" in details
    assert '"content": "lost <b>100%</b> of it"' in details, "markup in a record is shown as text"
    assert "conversation 8:bad" in details.lower() and first in details
    assert window.hint_label.text() == f"What to do: {HINTS['MissingMessageId']}"
    assert window.details.isReadOnly()


def test_copy_selected_rows(qtbot: Any, two_runs: tuple[Database, str, str]) -> None:
    db = two_runs[0]
    window = open_log(qtbot, db.url)
    assert not window.copy_button.isEnabled()
    window.table.selectRow(0)
    window.table.selectionModel().select(
        window.table.model().index(1, 0),
        QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
    )
    assert window.copy_button.isEnabled()
    window.copy_button.click()
    lines = QGuiApplication.clipboard().text().splitlines()
    rows = shown(qtbot, window)[:2]
    assert lines[0].split("\t")[0] == "Time" and len(lines) == 3
    assert [line.split("\t")[-1] for line in lines[1:]] == [r["message"] for r in rows]
    assert lines[1].split("\t")[1] == rows[0]["run_id"], "the full run id, not the short one shown"


def test_export_writes_the_filtered_rows(
    qtbot: Any, two_runs: tuple[Database, str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = two_runs[0]
    window = open_log(qtbot, db.url)
    choose(window.severity_filter, "warning")
    expected = [r for r in db_rows(db) if r["severity"] == "warning"]
    target = tmp_path / "warnings.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), "CSV (*.csv)"))
    window.export_button.click()
    assert not window.export_button.isEnabled(), "one export at a time"
    qtbot.waitUntil(lambda: window.count_label.text().startswith("Exported"), timeout=10_000)
    qtbot.waitUntil(window.export_button.isEnabled, timeout=10_000)
    with target.open(newline="", encoding="utf-8") as stream:
        written = list(csv.DictReader(stream))
    assert [r["id"] for r in written] == [str(r["id"]) for r in expected]
    assert [r["message"] for r in written] == [r["message"] for r in expected]
    assert [r["raw_snippet"] for r in written] == [r["raw_snippet"] or "" for r in expected]
    assert window.count_label.text() == f"Exported {len(expected)} rows to {target}"
    # JSON, and in the order shown
    window.table.sortByColumn(6, Qt.SortOrder.DescendingOrder)
    settle(qtbot, window)
    as_json = tmp_path / "warnings.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(as_json), "JSON (*.json)"))
    window.export_button.click()
    qtbot.waitUntil(lambda: as_json.name in window.count_label.text() and "Exported" in window.count_label.text())
    assert json.loads(as_json.read_text()) == [{f: r[f] for f in ERROR_FIELDS} for r in shown(qtbot, window)]
    assert sorted(r["id"] for r in json.loads(as_json.read_text())) == [r["id"] for r in expected]
    # a folder that cannot be written is a message, not a crash
    window.export_to(tmp_path / "missing" / "x.csv", "csv")
    qtbot.waitUntil(lambda: "Could not export" in window.count_label.text(), timeout=10_000)
    assert not (tmp_path / "missing").exists()


def test_csv_cells_cannot_run_as_formulas() -> None:
    row = dict.fromkeys(ERROR_FIELDS, None) | {"id": 1, "message": '=HYPERLINK("http://x")', "raw_snippet": "+1"}
    stream = io.StringIO()
    assert write_errors([row], stream, "csv") == 1
    written = next(csv.DictReader(io.StringIO(stream.getvalue())))
    assert written["message"] == '\'=HYPERLINK("http://x")' and written["raw_snippet"] == "'+1"
    stream = io.StringIO()
    assert write_errors([], stream, "json") == 0 and json.loads(stream.getvalue()) == []
    with pytest.raises(ValueError):
        write_errors([], stream, "xml")


def test_models_pass_qtmodeltester(qtbot: Any, qtmodeltester: Any, two_runs: tuple[Database, str, str]) -> None:
    db = two_runs[0]
    window = open_log(qtbot, db.url)
    qtmodeltester.check(window.model)
    choose(window.severity_filter, "error")
    settle(qtbot, window)
    qtmodeltester.check(window.model)
    history = open_history(qtbot, db.url)
    qtmodeltester.check(history.model)


def test_a_log_of_200000_rows_opens_in_under_a_second(qtbot: Any, tmp_path: Path) -> None:
    db = fill_error_log(Database(tmp_path / "big.db"), 200_000)
    started = time.perf_counter()
    window = ErrorLogWindow(db.url)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.model.rowCount() == 200_000, timeout=10_000)
    window.table.scrollToBottom()
    qtbot.waitUntil(lambda: window.model.is_loaded(199_999) and window.total == 200_000, timeout=10_000)
    QApplication.processEvents()
    took = time.perf_counter() - started
    assert took < 1.0, f"opened in {took:.2f} s"
    assert window.model.pages_read <= 5, "only what is shown was read"
    last = window.model.row_at(199_999)
    assert last is not None and last["message"] == "record 199999"
    assert window.model.index(199_999, 7).data() == "record 199999"


def test_no_database_yet_and_an_unusable_one(qtbot: Any, tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    window = open_log(qtbot, f"sqlite:///{missing}")
    qtbot.waitUntil(lambda: window.count_label.text() == "No imports in this database yet.", timeout=10_000)
    assert not missing.exists()
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database" * 100)
    broken = open_log(qtbot, f"sqlite:///{garbage}")
    assert broken.count_label.text().startswith("Cannot read the errors:") and broken.model.rowCount() == 0
    history = open_history(qtbot, f"sqlite:///{garbage}")
    assert history.note.text().startswith("Cannot read the runs:")
    unsupported = open_log(qtbot, "mysql://me:s3cret@host/db")
    assert "unsupported" in unsupported.count_label.text() and "s3cret" not in unsupported.count_label.text()


def test_the_log_of_a_postgres_run(qtbot: Any, tmp_path: Path, pg_db: Any) -> None:
    ETLPipeline(pg_db.url).run(write_bad_export(tmp_path / "bad.json"))
    window = open_log(qtbot, pg_db.url)
    assert sorted(map(error_key, shown(qtbot, window)), key=str) == KNOWN_ERRORS
    choose(window.severity_filter, "error")
    assert {r["severity"] for r in shown(qtbot, window)} == {"error"}
    window.search_edit.setText("timestamp")
    choose(window.severity_filter, None)
    assert [r["error_type"] for r in shown(qtbot, window)] == ["InvalidTimestamp"]


# --- from the main window ------------------------------------------------------------------------------------
def open_history(qtbot: Any, database: Any) -> RunHistoryWindow:
    history = RunHistoryWindow(database)
    qtbot.addWidget(history)
    qtbot.waitUntil(lambda: history.presenter.waiting == 0 and history.note.text() != "Reading…", timeout=10_000)
    return history


def test_offered_at_the_end_of_a_run_with_errors(qtbot: Any, tmp_path: Path, db: Database) -> None:
    window = make_window(qtbot, write_bad_export(tmp_path / "bad.json"), db)
    summary = run_to_end(qtbot, window)
    qtbot.waitUntil(lambda: window.error_offer is not None, timeout=10_000)  # once the thread has ended
    offer = window.error_offer
    assert (
        offer is not None
        and offer.isVisible()
        and f"{len(KNOWN_ERRORS)} records were skipped or repaired" in offer.text()
    )
    show = next(b for b in offer.buttons() if "error log" in b.text())
    show.click()
    qtbot.waitUntil(lambda: window.error_log.isVisible(), timeout=5_000)
    settle(qtbot, window.error_log)
    assert window.error_log.run_filter.currentData() == summary["run_id"]
    assert sorted(map(error_key, shown(qtbot, window.error_log)), key=str) == KNOWN_ERRORS


def test_no_offer_without_errors(qtbot: Any, tmp_path: Path, db: Database) -> None:
    path = write_export(tmp_path / "good.json", export_document([conversation("8:a", [message("1")])]))
    window = make_window(qtbot, path, db)
    assert run_to_end(qtbot, window)["errors"] == 0
    qtbot.wait(200)
    assert window.error_offer is None
    qtbot.mouseClick(button(window, "errorLogButton"), Qt.MouseButton.LeftButton)
    assert window.error_log is not None and window.error_log.count_label.text() == "Reading…"
    qtbot.waitUntil(lambda: window.error_log.count_label.text().startswith("No errors recorded"), timeout=10_000)


def test_run_history_resumes_an_unfinished_run(qtbot: Any, tmp_path: Path, db: Database) -> None:
    export = tmp_path / "export.tar"
    write_sample(export, messages=4000, seed=46)
    cancelled = interrupted(db.url, export, 1, parallel=False, batch_size=200)
    assert cancelled["status"] == "cancelled"
    done = ETLPipeline(db.url).run(write_bad_export(tmp_path / "bad.json"))
    window = make_window(qtbot, tmp_path / "bad.json", db)
    window.show_run_history()
    history = window.run_history
    assert history is not None
    qtbot.waitUntil(lambda: history.model.rowCount() == 2, timeout=10_000)
    assert history.table.objectName() == "runTable"
    database_column = next(i for i, (key, _) in enumerate(RUN_COLUMNS) if key == "database_url")
    assert history.model.index(0, database_column).data() == str(db.path)  # the local database by its file
    assert history.select_run(done["run_id"])
    assert not history.resume_button.isEnabled() and history.errors_button.isEnabled()
    history.errors_button.click()
    assert window.error_log is not None
    settle(qtbot, window.error_log)
    assert window.error_log.run_filter.currentData() == done["run_id"]
    assert history.select_run(cancelled["run_id"])
    status = history.model.index(history.table.currentIndex().row(), 4).data()
    assert status == "cancelled (can be resumed)"
    assert history.resume_button.isEnabled()
    with qtbot.waitSignal(window.import_finished, timeout=FINISH_MS) as finished:
        history.resume_button.click()
    summary = finished.args[0]
    assert summary["status"] == "completed" and summary["resumed"] and summary["messages_skipped"] > 0
    assert window.export_edit.text() == str(export)
    qtbot.waitUntil(lambda: not window.is_running(), timeout=FINISH_MS)
    history.refresh()
    qtbot.waitUntil(lambda: history.presenter.waiting == 0, timeout=10_000)
    statuses = sorted(history.model.runs[r]["status"] for r in range(history.model.rowCount()))
    assert statuses == ["completed", "completed", "resumed"]


def test_run_history_shows_command_line_runs(qtbot: Any, tmp_path: Path, db: Database) -> None:
    from tests.test_cli import skype_etl

    done = skype_etl("import", str(write_bad_export(tmp_path / "bad.json")), "--db", db.url, "--quiet")
    assert done.returncode == 0, done.stderr
    history = open_history(qtbot, db.url)
    assert history.model.rowCount() == 1
    cells = [history.model.index(0, c).data() for c in range(history.model.columnCount())]
    assert cells[1] == "bad.json" and cells[4] == "completed" and cells[7] == str(len(KNOWN_ERRORS))


def test_run_history_shows_what_each_conversation_counted(qtbot: Any, tmp_path: Path, db: Database) -> None:
    done = ETLPipeline(db.url).run(write_bad_export(tmp_path / "bad.json"))
    # a conversation that does not add up, as a bug would leave it
    db.execute("UPDATE run_conversations SET stored = stored - 1 WHERE conversation_id = '8:good'")
    history = open_history(qtbot, db.url)
    assert history.details.objectName() == "reconciliationTable"
    assert history.select_run(done["run_id"])
    model = history.details.model()
    qtbot.waitUntil(lambda: model.rowCount() == 4, timeout=10_000)
    rows = [[model.index(r, c).data() for c in range(model.columnCount())] for r in range(model.rowCount())]
    assert rows[0] == ["Anna — 8:good", "8:live:.cid.me", "1", "0", "0"]  # what does not add up comes first
    assert model.index(0, 0).data(Qt.ItemDataRole.BackgroundRole) == MISMATCH
    assert "Does not add up" in model.index(0, 2).data(Qt.ItemDataRole.ToolTipRole)
    assert ["Anna — 8:bad", "8:live:.cid.me", "9", "7", "2"] in rows
    assert model.index(1, 0).data(Qt.ItemDataRole.BackgroundRole) is None
    assert history.details_note.text() == (
        "4 conversations: 11 message records in the export, 7 stored, 3 skipped. 1 do not add up: see the rows "
        "marked red."
    )
    if os.environ.get("SKYPE_ETL_SCREENSHOTS"):
        history.grab().save(os.path.join(os.environ["SKYPE_ETL_SCREENSHOTS"], "run-history.png"))


def test_help_opens_the_log_folder(qtbot: Any, tmp_path: Path, db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    window = make_window(qtbot, tmp_path / "x.tar", db)
    window.log_folder_action.trigger()
    qtbot.waitUntil(lambda: bool(opened), timeout=10_000)  # the folder is made in a job, then opened
    assert [Path(u.toLocalFile()) for u in opened] == [log_dir()] and log_dir().is_dir()


def test_a_failure_message_names_the_application_log(qtbot: Any, tmp_path: Path, db: Database) -> None:
    path = tmp_path / "photo.tar"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 1000)
    window = make_window(qtbot, path, db)
    qtbot.mouseClick(button(window, "startButton"), Qt.MouseButton.LeftButton)
    box = problem(qtbot, window)
    assert isinstance(box, QMessageBox) and "not a Skype export" in box.text()
    assert str(applog.log_path()) in box.informativeText() and "Help > Open log folder" in box.informativeText()


def test_a_failed_run_names_both_logs_and_its_fatal_error(qtbot: Any, tmp_path: Path, db: Database) -> None:
    full = tmp_path / "full.json"
    write_sample(full, messages=2000, seed=47)
    cut = tmp_path / "cut.json"
    cut.write_bytes(full.read_bytes()[:-5000])
    window = make_window(qtbot, cut, db, batch_size=100)
    summary = run_to_end(qtbot, window)
    assert summary["status"] == "failed"
    qtbot.waitUntil(lambda: window.problem_box is not None, timeout=10_000)  # once the thread has ended
    box = window.problem_box
    assert box is not None
    assert box.text().startswith("Failed: ") and "truncated" in box.text()
    assert "error log" in box.informativeText() and str(applog.log_path()) in box.informativeText()
    assert window.error_offer is None, "the failure box says it; no second box"
    window.show_error_log()
    log = window.error_log
    assert log is not None
    settle(qtbot, log)
    choose(log.severity_filter, "fatal")
    (fatal,) = shown(qtbot, log)
    assert fatal["error_type"] == "ExportReadError" and fatal["run_id"] == summary["run_id"]
    log.table.selectRow(0)
    assert log.hint_label.text() == f"What to do: {HINTS['ExportReadError']}"
    assert "the run stopped here" in log.details.toPlainText()


def test_resuming_a_changed_export_is_refused_in_a_box(qtbot: Any, tmp_path: Path, db: Database) -> None:
    export = tmp_path / "export.json"
    write_sample(export, messages=3000, seed=48)
    assert interrupted(db.url, export, 1, parallel=False, batch_size=200)["status"] == "cancelled"
    export.write_bytes(export.read_bytes() + b"\n")  # the same path, other content
    window = make_window(qtbot, export, db)
    with qtbot.waitSignal(window.import_finished, timeout=FINISH_MS) as finished:
        window.resume_run(str(export))
    assert finished.args[0]["status"] == "failed" and "changed" in finished.args[0]["error"]
    box = problem(qtbot, window)
    assert "changed" in box.text() and str(applog.log_path()) in box.informativeText()
    assert window.status_label.text() == "Could not import."
