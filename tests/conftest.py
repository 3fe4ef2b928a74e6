"""Shared fixtures: sample exports, exports built from Python data, real SQLite databases."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from skype_etl_gui.etl import ETLPipeline
from skype_etl_gui.sample import SampleStats, write_sample

# the application log of the test session (and of the command lines it runs), never the user's
os.environ["SKYPE_ETL_LOG_DIR"] = tempfile.mkdtemp(prefix="skype-etl-test-logs-")


def message(
    msg_id: str | None = "1", content: Any = "hello", messagetype: Any = "RichText", **extra: Any
) -> dict[str, Any]:
    """One MessageList entry as Skype writes it; keywords override or add keys."""
    entry: dict[str, Any] = {
        "id": msg_id,
        "displayName": "Anna",
        "originalarrivaltime": "2020-09-13T12:26:40.123Z",
        "messagetype": messagetype,
        "version": 1600000000123,
        "content": content,
        "conversationid": "8:anna",
        "from": "8:anna",
        "properties": None,
        "amsreferences": None,
    }
    entry.update(extra)
    return entry


def conversation(conv_id: Any = "8:anna", messages: list[Any] | None = None, **extra: Any) -> dict[str, Any]:
    conv: dict[str, Any] = {
        "id": conv_id,
        "displayName": "Anna",
        "version": 1594056032575.0,
        "properties": {"conversationblocked": False},
        "threadProperties": None,
        "MessageList": [] if messages is None else messages,
    }
    conv.update(extra)
    return conv


def export_document(conversations: list[Any]) -> dict[str, Any]:
    return {"userId": "8:live:.cid.me", "exportDate": "2025-04-30T18:22", "conversations": conversations}


def write_export(path: Path, document: Any, kind: str = "json") -> Path:
    """Write `document` as messages.json, a .tar or a .tar.gz holding it."""
    data = document if isinstance(document, bytes) else json.dumps(document).encode()
    if kind == "json":
        path.write_bytes(data)
        return path
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("messages.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    raw = buffer.getvalue()
    path.write_bytes(gzip.compress(raw, mtime=0) if kind == "tar.gz" else raw)
    return path


SNAPSHOT_ORDER = {
    "conversations": "owner_id, id",
    "messages": "owner_id, conversation_id, id",
    "participants": "owner_id, conversation_id, participant_id",
    "attachments": "owner_id, conversation_id, message_id, position",
    "reactions": "owner_id, conversation_id, message_id, emotion, user_id",
    "mentions": "owner_id, conversation_id, message_id, position",
}
JSON_COLUMNS = {"properties", "details", "thread_properties"}


class Database:
    """A real SQLite file and the URL that names it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = f"sqlite:///{path}"

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(self.path)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def one(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        conn = sqlite3.connect(self.path)
        try:
            with conn:
                conn.execute(sql, params)
        finally:
            conn.close()

    def count(self, table: str) -> int:
        return int(self.one(f"SELECT count(*) FROM {table}"))

    def exists(self) -> bool:
        return self.path.exists()

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every data table's rows, in a stable order, for comparing two imports (which run wrote them aside)."""
        conn = sqlite3.connect(self.path)
        try:
            result = {}
            for table, key in SNAPSHOT_ORDER.items():
                columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})") if r[1] != "run_id"]
                rows = conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {key}").fetchall()
                result[table] = [_normalised(columns, row) for row in rows]
            return result
        finally:
            conn.close()


def _normalised(columns: list[str], row: tuple[Any, ...]) -> tuple[Any, ...]:
    """Values compared across databases: JSON parsed, times as the ISO text SQLite stores."""
    out = []
    for column, value in zip(columns, row, strict=True):
        if column in JSON_COLUMNS and isinstance(value, str):
            value = json.loads(value)
        elif isinstance(value, datetime):
            value = value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
        out.append(value)
    return tuple(out)


class PgDatabase:
    """A fresh database on the test server, queried the way Database queries SQLite."""

    def __init__(self, server: Any, name: str) -> None:
        self.server = server
        self.name = name
        self.url = server.url(name)

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        import psycopg2

        conn = psycopg2.connect(self.url)
        try:
            with conn.cursor() as cur:
                cur.execute(sql.replace("?", "%s"), params)
                columns = [d.name for d in cur.description]
                return [
                    tuple(
                        json.dumps(v) if isinstance(v, (dict, list)) else v
                        for v in _normalised([c if c not in JSON_COLUMNS else "_" for c in columns], row)
                    )
                    for row in cur.fetchall()
                ]
        finally:
            conn.close()

    def one(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        import psycopg2

        conn = psycopg2.connect(self.url)
        try:
            with conn, conn.cursor() as cur:
                cur.execute(sql.replace("?", "%s"), params)
        finally:
            conn.close()

    def count(self, table: str) -> int:
        return int(self.one(f"SELECT count(*) FROM {table}"))

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        import psycopg2

        conn = psycopg2.connect(self.url)
        try:
            result = {}
            with conn.cursor() as cur:
                for table, key in SNAPSHOT_ORDER.items():
                    cur.execute(
                        "SELECT column_name FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
                        (table,),
                    )
                    # search: PostgreSQL's generated search column (SQLite's index is a table of its own)
                    columns = [r[0] for r in cur.fetchall() if r[0] not in ("run_id", "search")]
                    cur.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {key}")
                    result[table] = [_normalised(columns, row) for row in cur.fetchall()]
            return result
        finally:
            conn.close()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    """The test PostgreSQL server, started once. Outside CI, a machine without PostgreSQL skips these tests."""
    from tests.pgserver import PostgresServer, find_bindir

    bindir = find_bindir()
    if bindir is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL is not installed; CI must provide it (see .ci/run)")
        pytest.skip("PostgreSQL is not installed")
    server = PostgresServer(bindir).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_db(pg_server: Any) -> Iterator[PgDatabase]:
    name = pg_server.create_database()
    try:
        yield PgDatabase(pg_server, name)
    finally:
        pg_server.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """The same test against both databases."""
    if request.param == "sqlite":
        return Database(tmp_path / "history.db")
    return request.getfixturevalue("pg_db")


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return Database(tmp_path / "history.db")


@pytest.fixture
def import_into(db: Database):
    """Import an export into the test database; returns the summary."""

    def run(path: Path, **options: Any) -> dict[str, Any]:
        return ETLPipeline(db.url, **options).run(path)

    return run


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("samples")


@pytest.fixture(scope="session")
def small_sample(sample_dir: Path) -> tuple[Path, SampleStats]:
    path = sample_dir / "small.tar"
    return path, write_sample(path, messages=3000, seed=11)


# --- an export with known bad records, for the error log and the command-line views -------------------
# (phase, severity, error_type, conversation_id, message_id) of every error an import of it records
KNOWN_ERRORS = sorted(
    [
        ("transform", "error", "InvalidMessage", "8:bad", None),
        ("transform", "error", "MissingMessageId", "8:bad", None),
        ("transform", "warning", "InvalidTimestamp", "8:bad", "2"),
        ("transform", "warning", "NonStringContent", "8:bad", "3"),
        ("transform", "warning", "NonStringId", "8:bad", "5"),
        ("transform", "warning", "MissingSender", "8:bad", "6"),
        ("transform", "warning", "InvalidProperties", "8:bad", "7"),
        ("extract", "warning", "InvalidMessageList", "8:nolist", None),
        ("transform", "error", "MissingConversationId", None, None),
    ],
    key=str,
)


def error_key(row: dict[str, Any]) -> tuple[Any, ...]:
    """An etl_errors row in the shape of KNOWN_ERRORS."""
    return (row["phase"], row["severity"], row["error_type"], row["conversation_id"], row["message_id"])


def write_bad_export(path: Path) -> Path:
    """Good messages among bad ones whose errors are KNOWN_ERRORS."""
    bad = [
        message("1"),
        "junk",
        message(None, content="lost <b>100%</b> of it"),
        message("2", originalarrivaltime="soon"),
        message("3", content={"formula": "=1+1"}),
        message("4", content="fine"),
        message(5),
        message("6", **{"from": None}),
        message("7", properties=["not", "an", "object"]),
    ]
    return write_export(
        path,
        export_document(
            [
                conversation("8:bad", bad),
                conversation("8:nolist", MessageList="nope"),
                conversation(None, [message("9")]),
                conversation("8:good", [message("10")]),
            ]
        ),
    )


def fill_error_log(db: Database, count: int, runs: int = 2) -> Database:
    """A long error log: `count` rows of three kinds over `runs` runs (each with its etl_runs row)."""
    from skype_etl_gui.etl import open_loader

    with open_loader(db.url) as loader:
        loader.ensure_schema()
    kinds = [
        ("transform", "warning", "InvalidTimestamp"),
        ("transform", "error", "MissingMessageId"),
        ("load", "warning", "NulRemoved"),
    ]
    conn = sqlite3.connect(db.path)
    with conn:
        conn.executemany(
            "INSERT INTO etl_runs (id, export_path, status, started_at, errors) VALUES (?, ?, 'completed', ?, ?)",
            [
                (f"run{r}", f"/exports/export-{r}.tar", f"2026-11-28T10:{r % 60:02d}:00.000Z", count // runs)
                for r in range(runs)
            ],
        )
        conn.executemany(
            "INSERT INTO etl_errors (run_id, created_at, phase, severity, conversation_id, message_id, error_type, "
            "message, raw_snippet) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (
                    f"run{i % runs}",
                    "2026-11-28T10:00:00.000Z",
                    *kinds[i % 3][:2],
                    f"8:c{i % 50}",
                    str(i),
                    kinds[i % 3][2],
                    f"record {i}",
                    "{}",
                )
                for i in range(count)
            ),
        )
    conn.close()
    return db


V010 = Path(__file__).resolve().parent / "data" / "v0.1.0"  # an archive release 0.1.0 made, and its exports


@pytest.fixture
def old_archive(any_db: Any, tmp_path: Path) -> Iterator[Any]:
    """A copy of the archive release 0.1.0 made, on the kind of database `any_db` is (which stays empty)."""
    if isinstance(any_db, Database):
        shutil.copy(V010 / "archive.db", tmp_path / "old.db")
        yield Database(tmp_path / "old.db")
        return
    name = any_db.server.restore(V010 / "archive-postgres.sql")
    try:
        yield PgDatabase(any_db.server, name)
    finally:
        any_db.server.drop_database(name)


@contextlib.contextmanager
def held_import(url: str, export: Path, **options: Any) -> Iterator[tuple[ETLPipeline, dict[str, Any]]]:
    """An import running in a thread of this process, held (paused) after its first batch: its run is recorded
    as running, by a live process. Resumed and waited for at the end; the dict gets its summary."""
    pipeline = ETLPipeline(url, batch_size=options.pop("batch_size", 50), parallel=False, **options)
    pipeline.pause()
    outcome: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: outcome.update(pipeline.run(export)))
    thread.start()
    try:
        assert pipeline.wait_until_holding(30)
        yield pipeline, outcome
    finally:
        pipeline.resume()
        thread.join(60)
