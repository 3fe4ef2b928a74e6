"""The embedded SQLite target: WAL, batched upserts, one transaction per batch."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from .loader import ERROR_FIELDS, RUN_FIELDS, Batch, DatabaseError, Loader
from .schema import SCHEMA_VERSION
from .schema.sqlite import MIGRATIONS
from .transformer import ATTACHMENT_COLUMNS, CONVERSATION_COLUMNS, MESSAGE_COLUMNS, PARTICIPANT_COLUMNS


def _placeholders(columns: tuple[str, ...]) -> str:
    return ", ".join("?" for _ in columns)


def _differs(columns: tuple[str, ...], table: str) -> str:
    return " OR ".join(f"excluded.{c} IS NOT {table}.{c}" for c in columns)


_MESSAGE_UPDATE = [c for c in MESSAGE_COLUMNS if c not in ("conversation_id", "id", "run_id")]
# highest version wins; on a tie the later entry, written only when it differs
UPSERT_MESSAGE = (
    f"INSERT INTO messages ({', '.join(MESSAGE_COLUMNS)}) VALUES ({_placeholders(MESSAGE_COLUMNS)}) "
    f"ON CONFLICT (conversation_id, id) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in _MESSAGE_UPDATE)} "
    "WHERE coalesce(excluded.version, -1) > coalesce(messages.version, -1) "
    "OR (coalesce(excluded.version, -1) = coalesce(messages.version, -1) "
    f"AND ({_differs(tuple(_MESSAGE_UPDATE), 'messages')}))"
)
UPSERT_ATTACHMENT = (
    f"INSERT INTO attachments ({', '.join(ATTACHMENT_COLUMNS)}) VALUES ({_placeholders(ATTACHMENT_COLUMNS)}) "
    "ON CONFLICT (conversation_id, message_id, position) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in ATTACHMENT_COLUMNS[3:])
    + " WHERE coalesce(excluded.message_version, -1) >= coalesce(attachments.message_version, -1)"
)
UPSERT_PARTICIPANT = (
    f"INSERT INTO participants ({', '.join(PARTICIPANT_COLUMNS)}) VALUES ({_placeholders(PARTICIPANT_COLUMNS)}) "
    "ON CONFLICT (conversation_id, participant_id) DO UPDATE SET display_name = excluded.display_name "
    "WHERE participants.display_name IS NULL AND excluded.display_name IS NOT NULL"
)
_CONV_UPDATE = [c for c in CONVERSATION_COLUMNS if c not in ("id", "run_id")]
UPSERT_CONVERSATION = (
    f"INSERT INTO conversations ({', '.join(CONVERSATION_COLUMNS)}) VALUES ({_placeholders(CONVERSATION_COLUMNS)}) "
    f"ON CONFLICT (id) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in _CONV_UPDATE)} "
    f"WHERE {_differs(tuple(_CONV_UPDATE), 'conversations')}"
)
INSERT_ERROR = (
    "INSERT INTO etl_errors (run_id, created_at, phase, severity, conversation_id, message_id, error_type, "
    "message, raw_snippet) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


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
                raise DatabaseError(
                    f"{self.display_url}: the database was made by a newer version of this program "
                    f"(schema {current}, this one knows {SCHEMA_VERSION}); update the program"
                )
            for version in range(current + 1, SCHEMA_VERSION + 1):
                self.conn.execute("BEGIN IMMEDIATE")
                for statement in MIGRATIONS[version - 1]:
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
                conn.executemany(
                    INSERT_ERROR,
                    [
                        (
                            run_id,
                            e.created_at,
                            e.phase,
                            e.severity,
                            e.conversation_id,
                            e.message_id,
                            e.error_type,
                            e.message,
                            e.raw_snippet,
                        )
                        for e in batch.errors
                    ],
                )
            update = dict(batch.run_update)
            if batch.checkpoint is not None:
                update["checkpoint"] = batch.checkpoint
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

    def runs(self, limit: int = 50) -> list[dict[str, Any]]:
        cursor = self.conn.execute(
            f"SELECT {', '.join(RUN_FIELDS)} FROM etl_runs ORDER BY started_at DESC, rowid DESC LIMIT ?", (limit,)
        )
        return [_run_dict(row) for row in cursor]

    def errors(self, run_id: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        sql = f"SELECT {', '.join(ERROR_FIELDS)} FROM etl_errors"
        params: list[Any] = []
        if run_id:
            sql += " WHERE run_id = ?"
            params.append(run_id)
        sql += " ORDER BY id"
        if limit:
            sql += " LIMIT ?"
            params.append(limit)
        return [dict(zip(ERROR_FIELDS, row, strict=False)) for row in self.conn.execute(sql, params)]

    def table_counts(self) -> dict[str, int]:
        tables = ("conversations", "messages", "participants", "attachments", "etl_runs", "etl_errors")
        return {t: self.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}


def _db_value(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (dict, list)) else value


def _run_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    run = dict(zip(RUN_FIELDS, row, strict=False))
    for key in ("checkpoint", "telemetry"):
        if isinstance(run.get(key), str):
            run[key] = json.loads(run[key])
    return run
