"""Reading an archive never writes to it; what it reads, it reads right (times in UTC, case folded in every script)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from skype_etl_gui.etl import ETLPipeline, open_loader
from skype_etl_gui.etl.load import ErrorFilter, open_for_reading
from tests.conftest import Database, conversation, export_document, message, write_export

ROOT = Path(__file__).resolve().parent.parent


def skype_etl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "skype_etl_gui", *args], capture_output=True, text=True, cwd=ROOT)


@pytest.mark.parametrize("command", ["runs", "errors"])
def test_a_missing_database_is_one_line_and_nothing_made(tmp_path: Path, command: str) -> None:
    typo = tmp_path / "typo.db"
    done = skype_etl(command, "--db", f"sqlite:///{typo}")
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "no such database" in done.stderr
    assert not typo.exists() and list(tmp_path.iterdir()) == []


def test_a_database_that_is_no_archive_is_refused_not_made_one(any_db: Any) -> None:
    if isinstance(any_db, Database):
        import sqlite3

        sqlite3.connect(any_db.path).execute("CREATE TABLE other (x)").connection.close()
    done = skype_etl("runs", "--db", any_db.url)
    assert done.returncode == 2 and "not an archive" in done.stderr, done.stderr
    tables = (
        any_db.query("SELECT name FROM sqlite_master WHERE type = 'table'")
        if isinstance(any_db, Database)
        else any_db.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
    )
    assert [t[0] for t in tables] in ([], ["other"]), "reading made no table"


def test_an_archive_that_can_only_be_read_is_read(tmp_path: Path) -> None:
    db = Database(tmp_path / "history.db")
    export = write_export(tmp_path / "e.json", export_document([conversation("8:a", [message("1"), "junk"])]))
    ETLPipeline(db.url).run(export)
    if os.name == "posix" and os.geteuid() != 0:  # root reads whatever the mode
        db.path.chmod(stat.S_IRUSR)
    loader = open_for_reading(db.url)
    assert loader is not None
    with loader:
        assert len(loader.runs()) == 1 and len(loader.errors()) == 1
        with pytest.raises(Exception, match="readonly|read-only|read only"):
            loader._select("INSERT INTO etl_runs (id, status) VALUES ('x', 'running') RETURNING id")


def test_search_folds_case_in_every_script(tmp_path: Path, any_db: Any) -> None:
    records = ["not a message: Привет, Мир", "not a message: Café CRÈME", "not a message: plain"]
    export = write_export(tmp_path / "e.json", export_document([conversation("8:a", [message("1"), *records])]))
    ETLPipeline(any_db.url, parallel=False).run(export)
    loader = open_for_reading(any_db.url)
    assert loader is not None
    with loader:

        def found(text: str) -> int:
            return len(loader.errors(where=ErrorFilter(text=text)))

        assert found("привет") == found("ПРИВЕТ") == found("Привет") == 1
        assert found("café crème") == found("CAFÉ") == 1
        assert found("100%") == 0 and found("plain") == 1


def test_postgres_times_are_utc(tmp_path: Path, pg_server: Any, pg_db: Any) -> None:
    pg_server.admin(f"ALTER DATABASE {pg_db.name} SET timezone TO 'Asia/Kolkata'")
    export = write_export(tmp_path / "e.json", export_document([conversation("8:a", [message("1")])]))
    ETLPipeline(pg_db.url).run(export)
    done = skype_etl("runs", "--db", pg_db.url, "--json")
    assert done.returncode == 0, done.stderr
    (run,) = json.loads(done.stdout)
    assert run["started_at"].endswith("Z") and run["finished_at"].endswith("Z"), run
    with open_loader(pg_db.url) as loader:
        assert loader._select("SHOW TimeZone") == [("UTC",)]
        # a writer without JIT (compiling took 190 ms of a 290 ms statement at the import's end); a reader as the
        # server has it
        assert loader._select("SHOW jit") == [("off",)]
    reader = open_for_reading(pg_db.url)
    assert reader is not None
    try:
        assert reader._select("SHOW jit") == [("on",)]
    finally:
        reader.close()


def test_a_child_process_finds_the_standard_library_first() -> None:
    """The worker and the preview run as processes of their own; this package never goes ahead of the standard
    library on their path (PYTHONPATH would have put site-packages there)."""
    from skype_etl_gui.etl.run.ipc import child_command

    done = subprocess.run(
        child_command("site"),
        capture_output=True,
        text=True,
        cwd="/",
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    paths = [line.strip().strip("',") for line in done.stdout.splitlines() if line.startswith("    '")]
    stdlib = next(
        i
        for i, p in enumerate(paths)
        if p.endswith("lib/python3.11") or p.endswith(f"python{sys.version_info[0]}{sys.version_info[1]}.zip")
    )
    site = [i for i, p in enumerate(paths) if "site-packages" in p]
    assert site and stdlib < min(site), paths
