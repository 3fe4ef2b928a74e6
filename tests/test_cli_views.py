"""`skype-etl runs` and `skype-etl errors` on the known-bad export, and the application log they write."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from skype_etl_gui.etl.load import ERROR_FIELDS
from tests.conftest import KNOWN_ERRORS, Database, error_key, write_bad_export
from tests.test_cli import skype_etl


@pytest.fixture
def imported(tmp_path: Path, db: Database) -> tuple[Database, dict[str, Any], Path]:
    """The known-bad export imported by the command line, with its own log folder."""
    logs = tmp_path / "logs"
    done = skype_etl(
        "import", str(write_bad_export(tmp_path / "bad.json")), "--db", db.url, "--json", env_extra=_logs(logs)
    )
    assert done.returncode == 0, done.stderr
    assert f"skype-etl errors --run {json.loads(done.stdout.splitlines()[-1])['run_id']}" in done.stderr
    return db, json.loads(done.stdout.splitlines()[-1]), logs


def _logs(folder: Path) -> dict[str, str]:
    return {"SKYPE_ETL_LOG_DIR": str(folder)}


def errors_json(db: Database, *options: str) -> list[dict[str, Any]]:
    done = skype_etl("errors", "--db", db.url, "--json", *options)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_errors_lists_exactly_the_stored_rows(imported: tuple[Database, dict[str, Any], Path]) -> None:
    db, summary, _ = imported
    stored = db.query(f"SELECT {', '.join(ERROR_FIELDS)} FROM etl_errors ORDER BY id")
    listed = errors_json(db)
    assert [tuple(row[f] for f in ERROR_FIELDS) for row in listed] == stored
    assert sorted(map(error_key, listed), key=str) == KNOWN_ERRORS
    assert errors_json(db, "--run", summary["run_id"]) == listed
    assert errors_json(db, "--run", "no-such-run") == []
    text = skype_etl("errors", "--db", db.url).stdout.splitlines()
    assert len(text) == len(KNOWN_ERRORS)
    assert all(any(k[2] in line for line in text) for k in KNOWN_ERRORS)


@pytest.mark.parametrize(
    ("options", "wanted"),
    [
        (("--severity", "error"), lambda k: k[1] == "error"),
        (("--severity", "warning", "--phase", "transform"), lambda k: k[:2] == ("transform", "warning")),
        (("--phase", "extract"), lambda k: k[0] == "extract"),
        (("--type", "NonStringId"), lambda k: k[2] == "NonStringId"),
        (("--search", "timestamp"), lambda k: k[2] == "InvalidTimestamp"),
        (("--search", "100%"), lambda k: k[2] == "MissingMessageId"),
        (("--severity", "fatal"), lambda k: False),
    ],
)
def test_errors_filters_narrow(
    imported: tuple[Database, dict[str, Any], Path], options: tuple[str, ...], wanted
) -> None:
    db = imported[0]
    assert sorted(map(error_key, errors_json(db, *options)), key=str) == [k for k in KNOWN_ERRORS if wanted(k)]


def test_errors_as_csv(imported: tuple[Database, dict[str, Any], Path]) -> None:
    db = imported[0]
    done = skype_etl("errors", "--db", db.url, "--csv", "--severity", "error")
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [r["id"] for r in rows] == [str(r["id"]) for r in errors_json(db, "--severity", "error")]
    assert sorted(r["error_type"] for r in rows) == sorted(k[2] for k in KNOWN_ERRORS if k[1] == "error")
    assert skype_etl("errors", "--db", db.url, "--csv", "--json").returncode == 2


def test_errors_with_nothing_found_and_bad_options(imported: tuple[Database, dict[str, Any], Path]) -> None:
    db = imported[0]
    assert skype_etl("errors", "--db", db.url, "--type", "Nothing").stdout.strip() == "No errors recorded."
    done = skype_etl("errors", "--db", db.url, "--severity", "catastrophic")
    assert done.returncode == 2 and "invalid choice" in done.stderr


def test_runs_lists_the_run_with_its_counts(imported: tuple[Database, dict[str, Any], Path]) -> None:
    db, summary, _ = imported
    done = skype_etl("runs", "--db", db.url, "--json")
    (run,) = json.loads(done.stdout)
    assert run["id"] == summary["run_id"] and run["status"] == "completed"
    assert (run["messages"], run["errors"]) == (summary["messages"], len(KNOWN_ERRORS))
    assert run["export_path"].endswith("bad.json")
    line = skype_etl("runs", "--db", db.url).stdout.strip()
    assert summary["run_id"] in line and f"{len(KNOWN_ERRORS)} errors" in line and "can be resumed" not in line


def test_the_application_log_records_the_run(imported: tuple[Database, dict[str, Any], Path]) -> None:
    _, summary, logs = imported
    text = (logs / "skype-etl.log").read_text()
    assert "skype-etl" in text and f"run {summary['run_id']}: importing" in text
    assert f"run {summary['run_id']} completed" in text and "MissingMessageId 1" in text


def test_a_failure_names_the_log_and_the_log_holds_no_password(tmp_path: Path, small_sample: Any) -> None:
    logs = tmp_path / "logs"
    done = skype_etl("import", str(small_sample[0]), "--db", "mysql://me:s3cret@host/db", env_extra=_logs(logs))
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert str(logs / "skype-etl.log") in line and "s3cret" not in line
    text = (logs / "skype-etl.log").read_text()
    assert "rejected" in text and "mysql://me:***@host/db" in text and "s3cret" not in text


def test_postgres_passwords_stay_out_of_the_log(tmp_path: Path, small_sample: Any, pg_server: Any, pg_db: Any) -> None:
    from tests.pgserver import SUPERUSER_PASSWORD

    logs = tmp_path / "logs"
    good = skype_etl("import", str(small_sample[0]), "--db", pg_db.url, "--quiet", env_extra=_logs(logs))
    assert good.returncode == 0, good.stderr
    wrong = pg_server.url(pg_db.name, password="wrong-password")
    bad = skype_etl("import", str(small_sample[0]), "--db", wrong, env_extra=_logs(logs))
    assert bad.returncode == 2
    dsn = f"host=127.0.0.1 port={pg_server.port} dbname={pg_db.name} user=postgres password={SUPERUSER_PASSWORD}"
    assert skype_etl("runs", "--db", dsn, env_extra=_logs(logs)).returncode == 0
    text = (logs / "skype-etl.log").read_text()
    assert "completed" in text and "password authentication failed" in text
    for secret in (SUPERUSER_PASSWORD, "wrong-password"):
        assert secret not in text
