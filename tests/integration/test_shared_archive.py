"""A shared archive on a PostgreSQL server: `skype-etl db grant-reader` lets a role read it, and only read it."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from skype_etl_gui.sample import SampleStats
from tests.conftest import Database, PgDatabase
from tests.integration.test_postgres import skype_etl


def test_grant_reader_gives_select_and_nothing_more(
    small_sample: tuple[Path, SampleStats], pg_server: Any, pg_db: PgDatabase
) -> None:
    done = skype_etl("import", str(small_sample[0]), "--db", pg_db.url, "--quiet")
    assert done.returncode == 0, done.stderr
    role = "reader_" + uuid.uuid4().hex[:8]
    pg_server.admin(f"CREATE ROLE {role} LOGIN PASSWORD 'family-pw'")
    reader_url = pg_server.url(pg_db.name, user=role, password="family-pw")
    before = skype_etl("runs", "--db", reader_url)
    assert before.returncode == 2 and "permission denied" in before.stderr

    granted = skype_etl("db", "grant-reader", role, "--db", pg_db.url)
    assert granted.returncode == 0, granted.stderr
    assert f"{role} can now read the archive" in granted.stdout

    listed = skype_etl("runs", "--db", reader_url)
    assert listed.returncode == 0, listed.stderr
    assert "completed" in listed.stdout
    conn = psycopg2.connect(reader_url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM messages")
            assert cur.fetchone()[0] == small_sample[1].unique_messages
        for write in ("DELETE FROM messages", "UPDATE etl_runs SET status = 'x'", "CREATE TABLE mine (x int)"):
            with pytest.raises(psycopg2.Error, match="permission denied"), conn.cursor() as cur:
                cur.execute(write)
            conn.rollback()
    finally:
        conn.close()
    # it searches and reads conversations (issue 17), writing nothing
    found = skype_etl("search", "the", "--db", reader_url, "--limit", "3", "--json")
    assert found.returncode == 0, found.stderr
    assert len(found.stdout.splitlines()) == 3
    conversation = pg_db.one("SELECT id FROM conversations WHERE owner_id <> '' ORDER BY id LIMIT 1")
    shown = skype_etl("show", conversation, "--db", reader_url, "--limit", "5")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("--- ")
    # nor can it import
    refused = skype_etl("import", str(small_sample[0]), "--db", reader_url, "--quiet")
    assert refused.returncode in (1, 2) and "permission denied" in refused.stderr
    assert "family-pw" not in refused.stderr
    # a table the importer makes later (a newer version's) is readable too
    pg_server.psql(pg_db.name, "-q", script="CREATE TABLE later (x int); INSERT INTO later VALUES (1);")
    conn = psycopg2.connect(reader_url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT x FROM later")
            assert cur.fetchall() == [(1,)]
    finally:
        conn.close()


def test_grant_reader_refusals(pg_db: PgDatabase, db: Database, small_sample: tuple[Path, SampleStats]) -> None:
    assert skype_etl("import", str(small_sample[0]), "--db", pg_db.url, "--quiet").returncode == 0
    missing = skype_etl("db", "grant-reader", "nobody_here", "--db", pg_db.url)
    assert missing.returncode == 2
    assert "there is no role 'nobody_here'" in missing.stderr and "CREATE ROLE" in missing.stderr
    assert skype_etl("import", str(small_sample[0]), "--db", db.url, "--quiet").returncode == 0
    local = skype_etl("db", "grant-reader", "someone", "--db", db.url)
    assert local.returncode == 2 and "file's permissions" in local.stderr
    nothing = skype_etl("db", "grant-reader", "someone", "--db", f"sqlite:///{db.path.parent / 'none.db'}")
    assert nothing.returncode == 2 and "no such database" in nothing.stderr
