"""Reading runs and errors back: filters, search, sort, pages; the same on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from skype_etl_gui.etl import ETLPipeline, open_loader
from skype_etl_gui.etl.hints import HINTS, hint_for
from skype_etl_gui.etl.load import ERROR_FIELDS, ErrorFilter
from tests.conftest import (
    KNOWN_ERRORS,
    conversation,
    error_key,
    export_document,
    message,
    write_bad_export,
    write_export,
)


@pytest.fixture
def two_runs(any_db: Any, tmp_path: Path) -> tuple[Any, str, str]:
    """The known-bad export, then a second export with one more bad record: two runs' errors."""
    first = ETLPipeline(any_db.url).run(write_bad_export(tmp_path / "bad.json"))
    other = write_export(
        tmp_path / "other.json", export_document([conversation("8:x", [message("1", originalarrivaltime="later")])])
    )
    second = ETLPipeline(any_db.url).run(other)
    return any_db, first["run_id"], second["run_id"]


def test_errors_are_the_known_ones_with_every_field(two_runs: tuple[Any, str, str]) -> None:
    db, first, second = two_runs
    with open_loader(db.url) as loader:
        rows = loader.errors(first)
        assert sorted(map(error_key, rows), key=str) == KNOWN_ERRORS
        assert all(set(row) == set(ERROR_FIELDS) and row["run_id"] == first for row in rows)
        assert [r["id"] for r in rows] == sorted(r["id"] for r in rows), "in the order recorded"
        assert len(loader.errors()) == len(KNOWN_ERRORS) + 1
        assert [error_key(r) for r in loader.errors(second)] == [
            ("transform", "warning", "InvalidTimestamp", "8:x", "1")
        ]
        snippet = next(r["raw_snippet"] for r in rows if r["error_type"] == "MissingMessageId")
        assert snippet.startswith('{"id": null') and "<b>100%</b>" in snippet, "the raw record, as JSON text"


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (ErrorFilter(severity="error"), {k for k in KNOWN_ERRORS if k[1] == "error"}),
        (ErrorFilter(phase="extract"), {k for k in KNOWN_ERRORS if k[0] == "extract"}),
        (ErrorFilter(error_type="NonStringId"), {k for k in KNOWN_ERRORS if k[2] == "NonStringId"}),
        (
            ErrorFilter(severity="warning", phase="transform"),
            {k for k in KNOWN_ERRORS if k[:2] == ("transform", "warning")},
        ),
        (ErrorFilter(severity="fatal"), set()),
        (ErrorFilter(text="TIMESTAMP"), {k for k in KNOWN_ERRORS if k[2] == "InvalidTimestamp"}),  # any case
        (ErrorFilter(text="8:nolist"), {k for k in KNOWN_ERRORS if k[3] == "8:nolist"}),  # an id
        (ErrorFilter(text="100%</b>"), {k for k in KNOWN_ERRORS if k[2] == "MissingMessageId"}),  # in the record
        (ErrorFilter(text="%"), {k for k in KNOWN_ERRORS if k[2] == "MissingMessageId"}),  # % is a character
        (ErrorFilter(text="_"), {k for k in KNOWN_ERRORS if k[2] == "InvalidTimestamp"}),  # so is _ ("sent_at")
        (ErrorFilter(text="!"), set()),
        (ErrorFilter(text="'; DROP TABLE etl_errors; --"), set()),
    ],
    ids=lambda v: repr(v) if isinstance(v, ErrorFilter) else "",
)
def test_filters_and_search_narrow(two_runs: tuple[Any, str, str], where: ErrorFilter, expected: set[Any]) -> None:
    db, first, _ = two_runs
    with open_loader(db.url) as loader:
        scoped = ErrorFilter(first, where.severity, where.phase, where.error_type, where.text)
        assert {error_key(r) for r in loader.errors(where=scoped)} == expected
        ids = loader.error_ids(scoped)
        assert {error_key(r) for r in loader.errors_by_id(ids)} == expected
    assert db.count("etl_errors") == len(KNOWN_ERRORS) + 1


def test_sorted_ids_and_pages(two_runs: tuple[Any, str, str]) -> None:
    db, first, second = two_runs
    with open_loader(db.url) as loader:
        everything = loader.errors()
        by_type = loader.error_ids(ErrorFilter(), "error_type")
        assert [r["error_type"] for r in loader.errors_by_id(by_type)] == sorted(r["error_type"] for r in everything)
        down = loader.error_ids(ErrorFilter(), "error_type", descending=True)
        assert [r["error_type"] for r in loader.errors_by_id(down)] == sorted(
            (r["error_type"] for r in everything), reverse=True
        )
        assert loader.error_ids(ErrorFilter()) == [r["id"] for r in everything]
        backwards = list(reversed(loader.error_ids(ErrorFilter())))
        assert [r["id"] for r in loader.errors_by_id(backwards)] == backwards, "in the order asked"
        assert list(loader.iter_errors(backwards)) == list(reversed(everything))
        assert loader.errors_by_id([]) == [] and loader.errors_by_id([10**9]) == []
        with pytest.raises(ValueError):
            loader.error_ids(ErrorFilter(), "message; DROP TABLE etl_errors")
        kinds = loader.error_kinds()
        assert sum(k[4] for k in kinds) == len(everything)
        assert {k[0] for k in kinds} == {first, second}
        runs = loader.runs()
        assert [r["id"] for r in runs] == [second, first], "the newest first"


def test_many_errors_are_read_in_chunks(db: Any, tmp_path: Path) -> None:
    """More ids than one IN list holds (ERROR_PAGE) come back whole and in order."""
    junk = ["junk"] * 2500
    path = write_export(tmp_path / "junk.json", export_document([conversation("8:j", junk)]))
    ETLPipeline(db.url).run(path)
    with open_loader(db.url) as loader:
        ids = loader.error_ids(ErrorFilter(), "id", descending=True)
        assert len(ids) == 2500
        assert [r["id"] for r in loader.errors_by_id(ids)] == ids
        assert [r["id"] for r in loader.iter_errors(ids)] == ids


def test_every_recorded_type_has_a_hint() -> None:
    for error_type, _, severity, *_ in ((k[2], None, k[1]) for k in KNOWN_ERRORS):
        assert hint_for(error_type, severity) == HINTS[error_type]
    assert "report" in hint_for("SomethingNew", "fatal")
    assert hint_for(None, None)
