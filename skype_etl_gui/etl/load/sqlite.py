"""The embedded SQLite target: WAL, batched upserts, one transaction per batch."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Callable, Sequence
from operator import itemgetter
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ...paths import default_database_path, private_file, private_folder
from ..errors import DatabaseError
from ..records import Batch, Changes, ErrorRecord
from ..transform.rows import CONVERSATION_FIELDS, MESSAGE_FIELDS, PARTICIPANT_FIELDS
from . import search_index, upserts
from .base import BUSY_FOR_S, FIRST_DELAY_S, RUN_FIELDS, Loader, T
from .schema import SCHEMA_VERSION, upgrade_steps

UPSERT_MESSAGE = upserts.upsert_messages(upserts.placeholders(MESSAGE_FIELDS), upserts.sqlite_differs)
INSERT_MESSAGE = f"INSERT INTO messages ({', '.join(MESSAGE_FIELDS)}) {upserts.placeholders(MESSAGE_FIELDS)}"
UPSERT_CHILD = {
    table: upserts.upsert_child(table, upserts.placeholders(fields)) for table, (fields, _) in upserts.CHILDREN.items()
}
UPSERT_PARTICIPANT = upserts.upsert_participants(upserts.placeholders(PARTICIPANT_FIELDS))
UPSERT_CONVERSATION = upserts.upsert_conversations(upserts.placeholders(CONVERSATION_FIELDS), upserts.sqlite_differs)
INSERT_ERROR = upserts.insert_errors(upserts.placeholders(9))
ADD_TALLY = upserts.add_tally(upserts.placeholders(6))
CARRY_TALLY = upserts.carry_tally("?")
UPDATE_MESSAGE = upserts.update_messages("?")
DELETE_CHILD = {table: upserts.delete_children(table, "?") for table in upserts.CHILDREN}
DELETE_PARTICIPANT = upserts.delete_participant("?")
NAME_PARTICIPANT = upserts.name_participant("?")
QUOTED_ID = "json_extract(messages.details, '$.quote.message_id')"
LINK_REPLIES = upserts.link_replies(QUOTED_ID, upserts.sqlite_differs)


def _insert_new(conn: sqlite3.Connection, messages: list[tuple[Any, ...]]) -> bool:
    """The messages inserted, when none is stored yet (most batches of an import): no row is overwritten, so no
    indexed message needs looking at. False, with nothing written, when one is stored: the upsert merges them.
    (Saves the index's probe of every message: 0.5 s of 300k.)"""
    conn.execute("SAVEPOINT new_messages")
    try:
        conn.executemany(INSERT_MESSAGE, messages)
    except sqlite3.IntegrityError:
        conn.execute("ROLLBACK TO new_messages")
        conn.execute("RELEASE new_messages")
        return False
    conn.execute("RELEASE new_messages")
    return True


class SQLiteLoader(Loader):
    reply_links = LINK_REPLIES
    quoted_id = QUOTED_ID
    search_rebuilds = True

    def connect(self) -> None:
        path = self.target.path
        assert path is not None
        try:
            if self.read_only:
                # the file as it is: never made, never migrated (journal_mode=WAL would be a write too)
                uri = f"file:{quote(str(path.resolve()))}?mode=ro"
                self._conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
            else:
                _make_private(path)
                self._conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
                # 64 KiB pages for a new file (an existing one keeps its own): a 1 MiB media chunk is 16 overflow
                # pages instead of 256, which doubles media throughput, and 300k messages import 8 % faster
                self.conn.execute("PRAGMA page_size=65536")
                self._while_busy(lambda: self.conn.execute("PRAGMA journal_mode=WAL"))
                self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA cache_size=-32000")
            self.conn.execute("PRAGMA temp_store=MEMORY")
            self.conn.create_function("skype_fold", 1, _fold, deterministic=True)
            search_index.register(self.conn)
        except sqlite3.DatabaseError as exc:
            self.close()
            raise DatabaseError(
                f"{self.display_url}: not a usable SQLite database ({exc}); choose another file"
            ) from exc
        except (sqlite3.Error, OSError) as exc:
            self.close()
            raise DatabaseError(f"{self.display_url}: cannot open the database ({exc})") from exc

    def senders_of(self, conversations: Sequence[tuple[str, str]] | None) -> list[tuple[Any, ...]]:
        """As the base's, its GROUP BY sorted in a temporary file whatever this connection's setting: the sort holds
        a key a message (300k messages: 59 MB in memory), one conversation may have a million, and the sum is
        read once."""
        if self.conn.in_transaction:  # SQLite changes where temporary data go only between transactions
            return super().senders_of(conversations)
        (before,) = self.conn.execute("PRAGMA temp_store").fetchone()
        self.conn.execute("PRAGMA temp_store=FILE")
        try:
            return super().senders_of(conversations)
        finally:
            self.conn.execute(f"PRAGMA temp_store={int(before)}")

    def scan_once(self) -> None:
        # and a GROUP BY's sort goes to a temporary file: in memory it held every row's keys (300k messages' senders
        # summed up: 59 MB at its peak, 18 MB so, and no slower)
        self.conn.execute("PRAGMA cache_size=-2000")
        self.conn.execute("PRAGMA temp_store=FILE")

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

    def interrupt(self) -> None:
        conn = self._conn
        if conn is not None:
            with contextlib.suppress(sqlite3.ProgrammingError):  # closed meanwhile
                conn.interrupt()

    def ensure_schema(self) -> int:
        """Make or migrate the tables; another process doing the same (or writing) is waited for."""
        return self._while_busy(self._ensure_schema)

    def _ensure_schema(self) -> int:
        try:
            self.conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = self.conn.execute("SELECT max(version) FROM schema_version").fetchone()
            current = row[0] or 0
            if current > SCHEMA_VERSION:
                raise self.newer_schema(current)
            steps = upgrade_steps("sqlite", current)
            for number, step in enumerate(steps, 1):
                self.conn.execute("BEGIN IMMEDIATE")
                if (self.conn.execute("SELECT max(version) FROM schema_version").fetchone()[0] or 0) >= step.version:
                    self.conn.execute("COMMIT")  # another process migrated it meanwhile
                    continue
                if step.done is None or not self.conn.execute(step.done).fetchone()[0]:
                    self._migrating(step, number, len(steps), current)
                    for statement in step.statements:
                        self.conn.execute(statement)
                if step.last:
                    self.conn.execute("INSERT INTO schema_version (version) VALUES (?)", (step.version,))
                self.conn.execute("COMMIT")
            if search_index.behind(self.conn):  # what an earlier version's archive, or another tool, left
                self.conn.execute("BEGIN IMMEDIATE")
                search_index.index_new(self.conn)
                self.conn.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            if self._busy(exc):
                raise  # waited for, and tried again
            raise DatabaseError(f"{self.display_url}: not a usable SQLite database ({exc})") from exc
        return SCHEMA_VERSION

    def start_run(self, run: dict[str, Any], supersedes: str | None = None) -> None:
        columns = [c for c in RUN_FIELDS if c in run]

        def insert(conn: sqlite3.Connection) -> None:
            conn.execute(
                f"INSERT INTO etl_runs ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
                [_db_value(run[c]) for c in columns],
            )
            if supersedes:
                conn.execute("UPDATE etl_runs SET status = 'resumed' WHERE id = ?", (supersedes,))
                conn.execute(CARRY_TALLY, (run["id"], supersedes))

        self._in_transaction(insert, lambda: self._run_value(run["id"], "id") is not None)

    def write_batch(self, run_id: str, batch: Batch) -> None:
        def write(conn: sqlite3.Connection) -> None:
            if batch.conversations:
                conn.executemany(UPSERT_CONVERSATION, batch.conversations)
            if batch.participants:
                conn.executemany(UPSERT_PARTICIPANT, batch.participants)
            if batch.messages and not _insert_new(conn, batch.messages):
                keys = [itemgetter(*MESSAGE_KEY_AT)(row) for row in batch.messages]
                indexed = search_index.indexed_messages(conn, keys)
                conn.executemany(UPSERT_MESSAGE, batch.messages)
                search_index.index_changed(conn, indexed)
            for table, rows in batch.children().items():
                if rows:
                    conn.executemany(UPSERT_CHILD[table], rows)
            if batch.tally:
                conn.executemany(ADD_TALLY, batch.tally_rows(run_id))
            self._errors_and_run(conn, run_id, batch.errors, batch.run_fields())

        self._in_transaction(write, lambda: self._batch_committed(run_id, batch))

    def write_changes(self, run_id: str, changes: Changes) -> None:
        def write(conn: sqlite3.Connection) -> None:
            if changes.messages and self.search_deferred:
                conn.executemany(UPDATE_MESSAGE, changes.messages)  # the index is made again at the end
            elif changes.messages:
                indexed = search_index.indexed_messages(conn, [row[-3:] for row in changes.messages])  # (…, key)
                conn.executemany(UPDATE_MESSAGE, changes.messages)
                search_index.index_changed(conn, indexed)
            for table, rows in changes.children().items():
                if changes.replaced:
                    conn.executemany(DELETE_CHILD[table], changes.replaced)
                if rows:
                    conn.executemany(UPSERT_CHILD[table], rows)
            if changes.participants_gone:
                conn.executemany(DELETE_PARTICIPANT, changes.participants_gone)
            if changes.participants:
                conn.executemany(UPSERT_PARTICIPANT, changes.participants)
            if changes.participant_names:
                conn.executemany(NAME_PARTICIPANT, changes.participant_names)
            self._errors_and_run(conn, run_id, changes.errors, changes.run_fields())

        self._in_transaction(write, lambda: self._batch_committed(run_id, changes))

    def rebuild_search_index(self, on_progress: Callable[[int], None] | None = None) -> int:
        indexed = 0

        def rebuild(conn: sqlite3.Connection) -> None:
            nonlocal indexed
            indexed = search_index.rebuild(conn, on_progress)

        self._in_transaction(rebuild, lambda: False)
        return indexed

    def _errors_and_run(
        self, conn: sqlite3.Connection, run_id: str, errors: Sequence[ErrorRecord], fields: dict[str, Any]
    ) -> None:
        """What ends each of a run's transactions: the search index of its new messages, its error rows, and its
        row's new values."""
        search_index.index_new(conn)
        if errors:
            conn.executemany(INSERT_ERROR, [e.row(run_id) for e in errors])
        if fields:
            self._update_run(conn, run_id, fields)

    def execute_many(self, statement: str, rows: Sequence[tuple[Any, ...]]) -> int:
        changed = 0

        def run(conn: sqlite3.Connection) -> None:
            nonlocal changed
            changed = conn.executemany(statement, rows).rowcount if rows else 0

        self._in_transaction(run, lambda: False)
        return changed

    def execute_each(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[int]:
        changed: list[int] = []

        def run(conn: sqlite3.Connection) -> None:
            changed[:] = [conn.execute(statement, params).rowcount for statement, params in statements]

        self._in_transaction(run, lambda: False)
        return changed

    def execute_all(self, statements: Sequence[str]) -> int:
        changed = 0

        def run(conn: sqlite3.Connection) -> None:
            nonlocal changed
            changed = sum(conn.execute(statement).rowcount for statement in statements)

        self._in_transaction(run, lambda: False)
        return changed

    def finish_run(self, run_id: str, fields: dict[str, Any], errors: Sequence[ErrorRecord] = ()) -> None:
        def finish(conn: sqlite3.Connection) -> None:
            self._errors_and_run(conn, run_id, errors, fields)

        finished_at = fields.get("finished_at")
        self._in_transaction(finish, lambda: self._run_value(run_id, "finished_at") == finished_at)

    def _in_transaction(self, work: Callable[[sqlite3.Connection], None], committed: Callable[[], bool]) -> None:
        def attempt() -> None:
            conn = self.conn
            conn.execute("BEGIN IMMEDIATE")  # the write lock first: a busy database is waited for here
            try:
                work(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

        self._transaction(attempt, committed)

    def _update_run(self, conn: sqlite3.Connection, run_id: str, fields: dict[str, Any]) -> None:
        fields = self.checked_run_fields(fields)
        assignments = ", ".join(f"{name} = ?" for name in fields)
        conn.execute(
            f"UPDATE etl_runs SET {assignments} WHERE id = ?", [*(_db_value(v) for v in fields.values()), run_id]
        )

    # --- what passes and what does not ------------------------------------------------------------
    def _transient(self, exc: BaseException) -> bool | None:
        if not isinstance(exc, sqlite3.Error):
            return None
        return self._busy(exc)  # the only failure of a file that passes

    def _while_busy(self, action: Callable[[], T]) -> T:
        """`action`, tried again while another process holds the file's lock (its transactions are short); any
        other failure as it comes."""
        waited = 0.0
        while True:
            try:
                return action()
            except sqlite3.OperationalError as exc:
                if not self._busy(exc) or waited >= BUSY_FOR_S:
                    raise
            self._pause(FIRST_DELAY_S)
            waited += FIRST_DELAY_S

    def _busy(self, exc: BaseException) -> bool:
        text = str(exc).lower()
        return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)

    def _reason(self, exc: BaseException) -> str:
        return str(exc) or type(exc).__name__

    def _reconnect(self) -> None:
        """A busy SQLite database needs no new connection; one that was closed under us does."""
        if self._conn is None:
            try:
                self.connect()
            except DatabaseError:
                pass

    newest_first = "started_at DESC, rowid DESC"  # two runs in one millisecond: the later one

    def folded_like(self, column: str) -> str:
        return f"skype_fold({column}) LIKE ? ESCAPE '!'"  # SQLite's own LIKE folds ASCII only

    def fold(self, text: str) -> str:
        return text.casefold()

    def _select(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise DatabaseError(f"{self.display_url}: cannot read ({exc})") from exc


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _make_private(path: Path) -> None:
    """A person's whole chat history: a new database file is created owner-only (0600; SQLite gives its -wal and
    -shm files the same), and so is the default one's folder. A file or folder that exists keeps its permissions,
    except the default database's own (it may come from a version that did not do this)."""
    default = path.resolve() == default_database_path().resolve()
    if default:
        private_folder(path.parent)
    else:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # the mode only for folders made here
    if not path.exists():
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass  # another import into it made it this moment (imports side by side)
    elif default:
        for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            private_file(name)


def _db_value(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (dict, list)) else value


MESSAGE_KEY_AT = tuple(MESSAGE_FIELDS.index(c) for c in ("owner_id", "conversation_id", "id"))
