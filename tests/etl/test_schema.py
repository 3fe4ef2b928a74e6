"""The tables declared once (load/schema/tables.py) make the same tables the previous release made, in both databases."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

from skype_etl_gui.etl import open_loader
from skype_etl_gui.etl.load.schema import SCHEMA_VERSION, Step, create_statements, upgrade_steps
from skype_etl_gui.etl.load.schema.tables import TABLES

V010 = Path(__file__).resolve().parent.parent / "data" / "v0.1.0"


def sqlite_shape(path: Path) -> dict[str, Any]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)  # a missing file is an error, not a new database
    try:
        shape: dict[str, Any] = {}
        for table in TABLES:
            columns = conn.execute(f"PRAGMA table_info({table.name})").fetchall()
            indexes = {
                name: [r[2] for r in conn.execute(f"PRAGMA index_info({name})")]
                for _, name, *_ in conn.execute(f"PRAGMA index_list({table.name})")
                if not name.startswith("sqlite_autoindex")
            }
            shape[table.name] = (columns, indexes)
        return shape
    finally:
        conn.close()


def test_an_archive_of_release_0_1_0_migrates_to_the_tables_of_a_new_database(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.db"
    with open_loader(f"sqlite:///{fresh}") as loader:
        assert loader.ensure_schema() == SCHEMA_VERSION
    archive = tmp_path / "archive.db"
    shutil.copy(V010 / "archive.db", archive)
    with open_loader(f"sqlite:///{archive}") as loader:
        assert loader.ensure_schema() == SCHEMA_VERSION
    assert sqlite_shape(archive) == sqlite_shape(fresh)


def test_the_migration_keeps_every_row_and_the_export_s_from(tmp_path: Path) -> None:
    archive = tmp_path / "archive.db"
    shutil.copy(V010 / "archive.db", archive)
    before = sqlite3.connect(archive).execute("SELECT conversation_id, id, sender_id FROM messages").fetchall()
    with open_loader(f"sqlite:///{archive}") as loader:
        assert loader.ensure_schema() == SCHEMA_VERSION
        assert loader.table_counts()["messages"] == 399
        assert loader.table_counts()["reactions"] == 0
    conn = sqlite3.connect(archive)
    after = conn.execute("SELECT conversation_id, id, sender_raw FROM messages").fetchall()
    assert sorted(after) == sorted(before)  # the export's `from`, verbatim, until a reprocess re-reads the sender
    assert conn.execute("SELECT version FROM schema_version ORDER BY version").fetchall() == [
        (1,),
        (2,),
        (3,),
        (4,),
        (5,),
    ]
    assert {row[0] for row in conn.execute("SELECT DISTINCT kind FROM etl_runs")} == {"import", "migrate"}


def pg_shape(url: str) -> dict[str, Any]:
    import psycopg2

    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns "
                "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"
            )
            columns = cur.fetchall()
            cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname")
            indexes = cur.fetchall()
        return {"columns": columns, "indexes": indexes}
    finally:
        conn.close()


def test_a_postgres_archive_of_release_0_1_0_migrates_to_the_tables_of_a_new_database(
    pg_server: Any, pg_db: Any
) -> None:
    with open_loader(pg_db.url) as loader:
        assert loader.ensure_schema() == SCHEMA_VERSION
    old = pg_server.restore(V010 / "archive-postgres.sql")
    try:
        with open_loader(pg_server.url(old)) as loader:
            assert loader.ensure_schema() == SCHEMA_VERSION
            assert loader.table_counts()["messages"] == 399
        assert pg_shape(pg_db.url) == pg_shape(pg_server.url(old))
    finally:
        pg_server.drop_database(old)


def test_a_postgres_migration_keeps_every_row_and_the_export_s_from_and_indexes_each(pg_server: Any) -> None:
    """PostgreSQL makes messages again with the new columns computed (not an UPDATE of every row): each keeps
    its row, the export's `from` as sender_raw, and its search index as skype_search() makes it."""
    import psycopg2

    old = pg_server.restore(V010 / "archive-postgres.sql")
    url = pg_server.url(old)
    try:
        with psycopg2.connect(url) as conn, conn.cursor() as cur:
            cur.execute("SELECT conversation_id, id, sender_id FROM messages")
            before = sorted(cur.fetchall())
        conn.close()
        with open_loader(url) as loader:
            assert loader.ensure_schema() == SCHEMA_VERSION
        with psycopg2.connect(url) as conn, conn.cursor() as cur:
            cur.execute("SELECT conversation_id, id, sender_raw FROM messages")
            assert sorted(cur.fetchall()) == before and len(before) == 399
            cur.execute("SELECT count(*) FROM messages WHERE search IS NULL OR search <> skype_search(content_text)")
            assert cur.fetchone()[0] == 0
            cur.execute("SELECT count(*) FROM messages WHERE search @@ 'hello'::tsquery")
            assert cur.fetchone()[0] > 0
        conn.close()
    finally:
        pg_server.drop_database(old)


def test_a_new_database_is_made_in_one_step() -> None:
    for dialect in ("sqlite", "postgresql"):
        assert upgrade_steps(dialect, 0) == [Step(SCHEMA_VERSION, "tables", create_statements(dialect), last=True)]
        assert upgrade_steps(dialect, SCHEMA_VERSION) == []
    assert "BIGSERIAL PRIMARY KEY" in "\n".join(create_statements("postgresql"))
    assert "INTEGER PRIMARY KEY AUTOINCREMENT" in "\n".join(create_statements("sqlite"))
