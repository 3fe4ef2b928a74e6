"""The embedded SQLite target: WAL, batched upserts, one transaction per batch."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from ..errors import DatabaseError
from ..records import Batch
from ..transform.rows import ATTACHMENT_FIELDS, CONVERSATION_FIELDS, MESSAGE_FIELDS, PARTICIPANT_FIELDS
from . import upserts
from .base import RUN_FIELDS, Loader
from .schema import SCHEMA_VERSION, upgrade_steps

UPSERT_MESSAGE = upserts.upsert_messages(upserts.placeholders(MESSAGE_FIELDS), upserts.sqlite_differs)
UPSERT_ATTACHMENT = upserts.upsert_attachments(upserts.placeholders(ATTACHMENT_FIELDS))
UPSERT_PARTICIPANT = upserts.upsert_participants(upserts.placeholders(PARTICIPANT_FIELDS))
UPSERT_CONVERSATION = upserts.upsert_conversations(upserts.placeholders(CONVERSATION_FIELDS), upserts.sqlite_differs)
INSERT_ERROR = upserts.insert_errors(upserts.placeholders(9))


class SQLiteLoader(Loader):
    def connect(self) -> None:
        path = self.target.path
        assert path is not None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA cache_size=-32000")
            self.conn.execute("PRAGMA temp_store=MEMORY")
        except sqlite3.DatabaseError as exc:
            self.close()
            raise DatabaseError(
                f"{self.display_url}: not a usable SQLite database ({exc}); choose another file"
            ) from exc
        except (sqlite3.Error, OSError) as exc:
            self.close()
            raise DatabaseError(f"{self.display_url}: cannot open the database ({exc})") from exc

    _conn: sqlite3.Connection | None = None

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise DatabaseError(f"{self.display_url}: not connected")
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def ensure_schema(self) -> int:
        try:
            self.conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = self.conn.execute("SELECT max(version) FROM schema_version").fetchone()
            current = row[0] or 0
            if current > SCHEMA_VERSION:
                raise self.newer_schema(current)
            for version, statements in upgrade_steps("sqlite", current):
                self.conn.execute("BEGIN IMMEDIATE")
                for statement in statements:
                    self.conn.execute(statement)
                self.conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
                self.conn.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise DatabaseError(f"{self.display_url}: not a usable SQLite database ({exc})") from exc
        return SCHEMA_VERSION

    def start_run(self, run: dict[str, Any], supersedes: str | None = None) -> None:
        columns = [c for c in RUN_FIELDS if c in run]
        conn = self.conn
        conn.execute("BEGIN")
        try:
            conn.execute(
                f"INSERT INTO etl_runs ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
                [_db_value(run[c]) for c in columns],
            )
            if supersedes:
                conn.execute("UPDATE etl_runs SET status = 'resumed' WHERE id = ?", (supersedes,))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def write_batch(self, run_id: str, batch: Batch) -> None:
        conn = self.conn
        conn.execute("BEGIN")
        try:
            if batch.conversations:
                conn.executemany(UPSERT_CONVERSATION, batch.conversations)
            if batch.participants:
                conn.executemany(UPSERT_PARTICIPANT, batch.participants)
            if batch.messages:
                conn.executemany(UPSERT_MESSAGE, batch.messages)
            if batch.attachments:
                conn.executemany(UPSERT_ATTACHMENT, batch.attachments)
            if batch.errors:
                conn.executemany(INSERT_ERROR, [e.row(run_id) for e in batch.errors])
            update = batch.run_fields()
            if update:
                self._update_run(run_id, update)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _update_run(self, run_id: str, fields: dict[str, Any]) -> None:
        assignments = ", ".join(f"{name} = ?" for name in fields)
        self.conn.execute(
            f"UPDATE etl_runs SET {assignments} WHERE id = ?", [*(_db_value(v) for v in fields.values()), run_id]
        )

    def finish_run(self, run_id: str, fields: dict[str, Any]) -> None:
        with self.conn:
            self._update_run(run_id, fields)

    newest_first = "started_at DESC, rowid DESC"  # two runs in one millisecond: the later one

    def _select(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise DatabaseError(f"{self.display_url}: cannot read ({exc})") from exc


def _db_value(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (dict, list)) else value
