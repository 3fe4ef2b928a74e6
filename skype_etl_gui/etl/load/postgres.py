"""The PostgreSQL target: COPY-speed loading, idempotent merges, one transaction per batch.

Messages arrive as COPY text made in the producer (off this process's core).
A batch is first copied straight into `messages` inside a savepoint; only when
that meets a row already stored (a re-import, an edit of an earlier batch's
message) is it rolled back to the savepoint and merged through a staging
table, where the highest version wins and a tie goes to the later entry.
"""

from __future__ import annotations

import contextlib
import io
import re
import struct
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import psycopg2
import psycopg2.errors
import psycopg2.extensions
import psycopg2.extras

from ..errors import DatabaseError, DatabaseTerminalError
from ..records import REDERIVED_COLUMNS, Batch, Changes, ErrorRecord
from ..redact import redact_text
from ..transform.encoding import copy_text
from ..transform.rows import MESSAGE_FIELDS, TEXT_AT
from . import upserts
from .base import RUN_FIELDS, Loader, MediaRows
from .schema import FILL_SEARCH, SCHEMA_VERSION, upgrade_steps

# SQLSTATEs that pass (https://www.postgresql.org/docs/current/errcodes-appendix.html): connection exceptions,
# the server starting, stopping or crashed, too many connections, a serialization failure, a deadlock, a lock
TRANSIENT_CLASSES = ("08",)
TRANSIENT_CODES = ("57P01", "57P02", "57P03", "53300", "40001", "40P01", "55P03")
CONNECT_TIMEOUT_S = 10  # unless the URL names its own connect_timeout
PAGE = 1000  # rows a statement, where many are sent


def _cols(columns: tuple[str, ...] | list[str]) -> str:
    return ", ".join(columns)


# a message row as COPY sends it: its fields, then its search index (fold.tsvector of its text)
COPIED_MESSAGE = (*MESSAGE_FIELDS, "search")
MERGE_MESSAGES = upserts.upsert_messages(
    f"SELECT {_cols(COPIED_MESSAGE)} FROM stage_messages", upserts.postgres_differs, derived=("search",)
)
UPSERT_CHILDREN = {table: upserts.upsert_child(table, "VALUES %s") for table in upserts.CHILDREN}
UPSERT_PARTICIPANTS = upserts.upsert_participants("VALUES %s")
UPSERT_CONVERSATIONS = upserts.upsert_conversations("VALUES %s", upserts.postgres_differs)
INSERT_ERRORS = upserts.insert_errors("VALUES %s")
ADD_TALLY = upserts.add_tally("VALUES %s")
CARRY_TALLY = upserts.carry_tally("%s")
# a reprocess's rewritten messages: COPY into the staging table, then one UPDATE joining it. 300k messages, their
# text made included: 10.8 s, against 12.6 s as UPDATE … FROM (VALUES …) of a thousand rows a statement
UPDATE_MESSAGES = upserts.update_messages_from("stage_messages", derived=("search",))
STAGED_CHANGES = _cols((*REDERIVED_COLUMNS, *upserts.MESSAGE_KEY, "search"))
CHANGED_TEXT_AT = REDERIVED_COLUMNS.index("content_text")
DELETE_CHILDREN = {table: upserts.delete_children_from_values(table) for table in upserts.CHILDREN}
DELETE_PARTICIPANT = upserts.delete_participant("%s")
NAME_PARTICIPANT = upserts.name_participant("%s")
QUOTED_ID = "(messages.details -> 'quote' ->> 'message_id')"
LINK_REPLIES = upserts.link_replies(QUOTED_ID, upserts.postgres_differs)
LINK_QUOTES = (
    "UPDATE messages SET reply_to = v.quoted FROM (VALUES %s) AS v(owner_id, conversation_id, id, quoted) "
    "WHERE messages.owner_id = v.owner_id AND messages.conversation_id = v.conversation_id AND messages.id = v.id "
    f"AND {QUOTED_ID} = v.quoted AND EXISTS (SELECT 1 FROM messages AS o WHERE o.owner_id = v.owner_id "
    "AND o.conversation_id = v.conversation_id AND o.id = v.quoted)"
)


def _clean(value: Any) -> Any:
    """Text PostgreSQL can store: no NUL characters, in strings or in JSON."""
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", "")
    return value


def _clean_rows(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [tuple(_clean(v) for v in row) for row in rows]


def _upsert_children(cur: Any, table: str, rows: list[tuple[Any, ...]]) -> None:
    """A message's attachments, reactions or mentions; one statement takes a key once."""
    if rows:
        rows = _clean_rows(_dedupe_children(rows, upserts.child_key(table)))
        psycopg2.extras.execute_values(cur, UPSERT_CHILDREN[table], rows, page_size=1000)


def _upsert_participants(cur: Any, rows: list[tuple[Any, ...]]) -> None:
    if rows:
        psycopg2.extras.execute_values(
            cur, UPSERT_PARTICIPANTS, _clean_rows(_dedupe_participants(rows)), page_size=1000
        )


def _dedupe_conversations(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """A conversation's start and end rows can share a batch; the later one knows more."""
    return list({(row[-1], row[0]): row for row in rows}.values())


def _dedupe_participants(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """One row per participant, as the row-by-row upsert would leave it: the first source, the first name."""
    by_key: dict[tuple[Any, Any, Any], tuple[Any, ...]] = {}
    for row in rows:
        key = (row[-1], row[0], row[1])  # (owner, conversation, person)
        kept = by_key.get(key)
        if kept is None:
            by_key[key] = row
        elif kept[2] is None and row[2] is not None:
            by_key[key] = (*kept[:2], row[2], *kept[3:])
    return list(by_key.values())


def _dedupe_children(rows: list[tuple[Any, ...]], key_of: Callable[[tuple[Any, ...]], Any]) -> list[tuple[Any, ...]]:
    """One row per key (one statement cannot touch a row twice): the highest message version, on a tie the later."""
    by_key: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    for row in rows:
        key = key_of(row)
        kept = by_key.get(key)
        version, kept_version = row[-2], kept[-2] if kept is not None else None  # message_version, before owner_id
        if kept is None or (version if version is not None else -1) >= (
            kept_version if kept_version is not None else -1
        ):
            by_key[key] = row
    return list(by_key.values())


class PostgresLoader(Loader):
    search_column = True
    reply_links = LINK_REPLIES
    quoted_id = QUOTED_ID
    _conn: Any = None

    @property
    def conn(self) -> Any:
        if self._conn is None:
            raise DatabaseError(f"{self.display_url}: not connected")
        return self._conn

    def connect(self) -> None:
        try:
            given = psycopg2.extensions.parse_dsn(self.target.dsn)
            defaults = {"application_name": "skype-etl", "connect_timeout": CONNECT_TIMEOUT_S}
            options = {key: value for key, value in defaults.items() if key not in given}  # the URL's own win
            # times in UTC, as SQLite keeps them; a reader's session cannot write
            # a writer's without JIT: it compiled for 190 ms of the 290 ms the import's reply linking takes; reading
            # (the browser's searches) keeps the server's choice, which measured as fast or faster
            settings = "-c TimeZone=UTC -c DateStyle=ISO"
            settings += " -c default_transaction_read_only=on" if self.read_only else " -c jit=off"
            options["options"] = f"{given['options']} {settings}" if given.get("options") else settings
            self._conn = psycopg2.connect(self.target.dsn, **options)
            psycopg2.extensions.register_type(ISO_TIME, self._conn)
            with self._conn, self._conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_collation WHERE collname = 'und-x-icu'")
                self._icu = cur.fetchone() is not None
        except psycopg2.Error as exc:
            self.close()
            raise DatabaseError(f"{self.display_url}: {_reason(exc)}") from None

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def interrupt(self) -> None:
        conn = self._conn
        if conn is not None:
            with contextlib.suppress(psycopg2.Error):  # closed or lost meanwhile: nothing runs
                conn.cancel()

    def ensure_schema(self) -> int:
        conn = self.conn
        try:
            with conn, conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(hashtext('skype_etl_gui schema'))")
                cur.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
                cur.execute("SELECT max(version) FROM schema_version")
                current = cur.fetchone()[0] or 0
                if current > SCHEMA_VERSION:
                    raise self.newer_schema(current)
            steps = upgrade_steps("postgresql", current)
            for number, step in enumerate(steps, 1):  # a transaction a step, each under the lock
                with conn, conn.cursor() as cur:
                    cur.execute("SELECT pg_advisory_xact_lock(hashtext('skype_etl_gui schema'))")
                    cur.execute("SELECT max(version) FROM schema_version")
                    if (cur.fetchone()[0] or 0) >= step.version:
                        continue  # another process migrated it meanwhile
                    done = False
                    if step.done is not None:
                        cur.execute(step.done)
                        done = bool(cur.fetchone()[0])
                    if not done:
                        self._migrating(step, number, len(steps), current)
                        for statement in step.statements:
                            cur.execute(statement)
                    if step.last:
                        cur.execute("INSERT INTO schema_version (version) VALUES (%s)", (step.version,))
            with conn, conn.cursor() as cur:  # messages another tool added, without their search index
                cur.execute(FILL_SEARCH)
        except psycopg2.Error as exc:
            raise DatabaseError(f"{self.display_url}: {_reason(exc)}") from None
        self._prepare_session()
        return SCHEMA_VERSION

    def _prepare_session(self) -> None:
        """What each connection needs: the staging table for merges (temporary, so per session)."""
        try:
            with self.conn, self.conn.cursor() as cur:
                cur.execute(
                    "CREATE TEMP TABLE IF NOT EXISTS stage_messages (LIKE messages INCLUDING DEFAULTS) "
                    "ON COMMIT DELETE ROWS"
                )
        except psycopg2.Error as exc:
            raise DatabaseError(f"{self.display_url}: {_reason(exc)}") from None

    def start_run(self, run: dict[str, Any], supersedes: str | None = None) -> None:
        columns = [c for c in RUN_FIELDS if c in run]

        def insert() -> None:
            with self.conn, self.conn.cursor() as cur:
                cur.execute(
                    f"INSERT INTO etl_runs ({_cols(columns)}) VALUES ({', '.join('%s' for _ in columns)})",
                    [_db_value(run[c]) for c in columns],
                )
                if supersedes:
                    cur.execute("UPDATE etl_runs SET status = 'resumed' WHERE id = %s", (supersedes,))
                    cur.execute(CARRY_TALLY, (run["id"], supersedes))

        self._transaction(insert, lambda: self._run_value(run["id"], "id") is not None)

    def write_batch(self, run_id: str, batch: Batch) -> None:
        self._transaction(lambda: self._write_batch(run_id, batch), lambda: self._batch_committed(run_id, batch))

    # --- what passes and what does not ------------------------------------------------------------
    def _transient(self, exc: BaseException) -> bool | None:
        """As dlt sorts them: a lost connection, a server starting or stopping, a conflict of transactions pass."""
        if isinstance(exc, DatabaseError) and not isinstance(exc, DatabaseTerminalError):
            return True  # a reconnect that failed (connect() says so as DatabaseError)
        if not isinstance(exc, psycopg2.Error):
            return None
        code = exc.pgcode or ""
        if code[:2] in TRANSIENT_CLASSES or code in TRANSIENT_CODES:
            return True
        if isinstance(exc, (psycopg2.OperationalError, psycopg2.InterfaceError)):
            return not code or self._conn is None or self._conn.closed != 0  # no code: the connection itself
        return False

    def _reason(self, exc: BaseException) -> str:
        if isinstance(exc, DatabaseError) or not isinstance(exc, Exception):
            return str(exc).split(": ", 1)[-1]
        return _reason(exc)

    def _reconnect(self) -> None:
        self.close()
        try:
            self.connect()
            self._prepare_session()
        except DatabaseError:
            pass  # the next try fails and says why, or the time is up

    def _write_batch(self, run_id: str, batch: Batch) -> None:
        conn = self.conn
        with conn, conn.cursor() as cur:
            if batch.conversations:
                rows = _clean_rows(_dedupe_conversations(batch.conversations))
                psycopg2.extras.execute_values(cur, UPSERT_CONVERSATIONS, rows, page_size=1000)
            _upsert_participants(cur, batch.participants)
            copy = (
                batch.messages_copy
                if batch.messages_copy is not None
                else (copy_text(batch.messages, words_of=self._words_of) if batch.messages else "")
            )
            if copy:
                self._load_messages(cur, copy)
            for table, children in batch.children().items():
                _upsert_children(cur, table, children)
            if batch.tally:
                psycopg2.extras.execute_values(cur, ADD_TALLY, batch.tally_rows(run_id), page_size=1000)
            self._errors_and_run(cur, run_id, batch.errors, batch.run_fields())

    @property
    def _words_of(self) -> int | None:
        return TEXT_AT if self.search_column else None

    def _load_messages(self, cur: Any, copy: str) -> None:
        """Straight into messages when nothing is there yet; else through the staging table and a merge."""
        columns = _cols(COPIED_MESSAGE if self.search_column else MESSAGE_FIELDS)
        cur.execute("SAVEPOINT direct_copy")
        try:
            cur.copy_expert(f"COPY messages ({columns}) FROM STDIN", io.StringIO(copy))
        except psycopg2.errors.UniqueViolation:
            cur.execute("ROLLBACK TO SAVEPOINT direct_copy")
            cur.copy_expert(f"COPY stage_messages ({columns}) FROM STDIN", io.StringIO(copy))
            cur.execute(MERGE_MESSAGES)
            cur.execute("TRUNCATE stage_messages")
        else:
            cur.execute("RELEASE SAVEPOINT direct_copy")

    def _errors_and_run(self, cur: Any, run_id: str, errors: Sequence[ErrorRecord], fields: dict[str, Any]) -> None:
        """What ends each of a run's transactions: its error rows, and its row's new values."""
        if errors:
            rows = [tuple(_clean(v) for v in e.row(run_id)) for e in errors]
            psycopg2.extras.execute_values(cur, INSERT_ERRORS, rows, page_size=1000)
        if fields:
            self._update_run(cur, run_id, fields)

    def _update_run(self, cur: Any, run_id: str, fields: dict[str, Any]) -> None:
        fields = self.checked_run_fields(fields)
        assignments = ", ".join(f"{name} = %s" for name in fields)
        cur.execute(
            f"UPDATE etl_runs SET {assignments} WHERE id = %s", [*(_db_value(v) for v in fields.values()), run_id]
        )

    def write_changes(self, run_id: str, changes: Changes) -> None:
        def write() -> None:
            batch, values = psycopg2.extras.execute_batch, psycopg2.extras.execute_values
            with self.conn, self.conn.cursor() as cur:
                if changes.messages:  # each with its search index, from its text
                    if changes.messages_copy is None:
                        self.prepare(changes)
                    copy = changes.messages_copy
                    cur.copy_expert(f"COPY stage_messages ({STAGED_CHANGES}) FROM STDIN", io.StringIO(copy))
                    cur.execute(UPDATE_MESSAGES)
                    cur.execute("TRUNCATE stage_messages")
                for table, children in changes.children().items():
                    if changes.replaced:
                        values(cur, DELETE_CHILDREN[table], changes.replaced, page_size=1000)
                    _upsert_children(cur, table, children)
                if changes.participants_gone:
                    batch(cur, DELETE_PARTICIPANT, changes.participants_gone, page_size=500)
                _upsert_participants(cur, changes.participants)
                if changes.participant_names:
                    batch(cur, NAME_PARTICIPANT, _clean_rows(changes.participant_names), page_size=500)
                self._errors_and_run(cur, run_id, changes.errors, changes.run_fields())

        self._transaction(write, lambda: self._batch_committed(run_id, changes))

    def prepare(self, changes: Changes) -> None:
        changes.messages_copy = copy_text(changes.messages, words_of=CHANGED_TEXT_AT) if changes.messages else None

    def execute_many(self, statement: str, rows: Sequence[tuple[Any, ...]]) -> int:
        return self._paged(rows, lambda cur, page: psycopg2.extras.execute_batch(cur, statement, page))

    def link_quotes(self, quoting: Sequence[tuple[str, str, str, str]]) -> int:
        """As the base's, a thousand quotes a statement (one UPDATE a quote is a round trip each)."""
        return self._paged(
            quoting, lambda cur, page: psycopg2.extras.execute_values(cur, LINK_QUOTES, page, page_size=PAGE)
        )

    def _paged(self, rows: Sequence[tuple[Any, ...]], send: Callable[[Any, list[tuple[Any, ...]]], None]) -> int:
        """`send` each page of rows (cleaned), all in one transaction; the rows changed (those of each page's last
        statement: a lower bound)."""
        changed = 0

        def run() -> None:
            nonlocal changed
            with self.conn, self.conn.cursor() as cur:
                changed = 0
                for start in range(0, len(rows), PAGE):
                    send(cur, _clean_rows(list(rows[start : start + PAGE])))
                    changed += max(cur.rowcount, 0)

        self._transaction(run)
        return changed

    # a row that fits a heap page (8 KiB) whole: stored where it lies, with neither TOAST's 2 KB pieces and their
    # index nor a compression attempt (the column is STORAGE PLAIN); measured 315 MB/s against 190-280 MB/s for
    # 1 MiB rows, and 63 MB/s for 1 MiB rows sent as hex text (benchmarks/RESULTS.md)
    media_row_bytes = 8000

    def _write_media(self, rows: Sequence[MediaRows], statements: list[tuple[str, Sequence[Any]]]) -> list[int]:
        """As the base's, the rows through binary COPY (as INSERT parameters psycopg2 would send bytes as
        escaped text, and text COPY as hex: twice the bytes, parsed)."""
        return self._each(statements, (lambda: _binary_copy(rows)) if rows else None)

    def execute_each(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[int]:
        return self._each(statements)

    def _each(
        self, statements: Sequence[tuple[str, Sequence[Any]]], chunks: Callable[[], Any] | None = None
    ) -> list[int]:
        """`chunks()` (binary COPY of media_chunks rows, made anew for each try) first, then the statements, in one
        transaction; the rows each statement changed."""
        changed: list[int] = []

        def run() -> None:
            with self.conn, self.conn.cursor() as cur:
                changed.clear()
                if chunks is not None:
                    # a media write's commit need not wait for its WAL to reach the disk: a crash loses at most
                    # the last few (the server's wal_writer_delay), a file that is then not stored and the next
                    # run stores again; the run's own end (completed) commits durably, and so everything before it
                    cur.execute("SET LOCAL synchronous_commit = off")
                    cur.copy_expert(
                        "COPY media_chunks (file_id, seq, data) FROM STDIN WITH (FORMAT binary)", chunks(), size=1 << 20
                    )
                for statement, params in statements:
                    cur.execute(statement, [psycopg2.Binary(v) if isinstance(v, bytes) else _clean(v) for v in params])
                    changed.append(cur.rowcount)

        self._transaction(run)
        return changed

    def execute_all(self, statements: Sequence[str]) -> int:
        changed = 0

        def run() -> None:
            nonlocal changed
            with self.conn, self.conn.cursor() as cur:
                changed = 0
                for statement in statements:
                    cur.execute(statement)
                    changed += cur.rowcount

        self._transaction(run)
        return changed

    def finish_run(self, run_id: str, fields: dict[str, Any], errors: Sequence[ErrorRecord] = ()) -> None:
        def update() -> None:
            with self.conn, self.conn.cursor() as cur:
                self._errors_and_run(cur, run_id, errors, fields)

        finished_at = fields.get("finished_at")
        self._transaction(update, lambda: self._run_value(run_id, "finished_at") == finished_at)  # ISO text (ISO_TIME)

    def grant_reader(self, role: str) -> None:
        """SELECT on every table of the archive's schema, now and made later by this user, and nothing else."""
        from psycopg2 import sql

        try:
            with self.conn, self.conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
                if cur.fetchone() is None:
                    raise DatabaseError(
                        f"{self.display_url}: there is no role {role!r} on the server; create it first "
                        f"(CREATE ROLE {sql.Identifier(role).as_string(cur)} LOGIN PASSWORD '…')"
                    )
                cur.execute("SELECT current_database(), current_schema()")
                database, schema = cur.fetchone()
                who, where = sql.Identifier(role), sql.Identifier(schema)
                for statement in (
                    sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), who),
                    sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(where, who),
                    sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(where, who),
                    sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT SELECT ON TABLES TO {}").format(where, who),
                ):
                    cur.execute(statement)
        except psycopg2.Error as exc:
            raise DatabaseError(f"{self.display_url}: {_reason(exc)}") from None

    mark = "%s"
    _icu = False

    def folded_like(self, column: str) -> str:
        """ILIKE folds only ASCII under the C locale; ICU's root collation folds every script."""
        if self._icu:
            return f"lower({column} COLLATE \"und-x-icu\") LIKE %s ESCAPE '!'"
        return f"{column} ILIKE %s ESCAPE '!'"

    def fold(self, text: str) -> str:
        return text.lower() if self._icu else text

    def _select(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            with self.conn, self.conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall()  # times come as ISO text already (ISO_TIME)
        except psycopg2.Error as exc:
            raise DatabaseError(f"{self.display_url}: cannot read ({_reason(exc)})") from None


def _binary_copy(rows: Sequence[MediaRows]) -> io.BytesIO:
    """media_chunks rows in COPY's binary format: the header, then per row its three fields' lengths and values
    (file_id bigint, seq int, data as it is), then the trailer. Made as one buffer (a transaction's chunks, 16 MiB):
    psycopg2 reads a BytesIO at memcpy speed, where a Python reader of pieces cost a quarter of the import."""
    parts: list[bytes | memoryview] = [b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)]
    for file_id, first_seq, data in rows:
        for i, row in enumerate(data):
            parts += (struct.pack("!hiqiii", 3, 8, file_id, 4, first_seq + i, len(row)), row)
    parts.append(struct.pack("!h", -1))
    return io.BytesIO(b"".join(parts))


def _db_value(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return psycopg2.extras.Json(value)
    return _clean(value)


_SERVER_TIME = re.compile(r"(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?\+00\Z")


def _iso_time(text: str | None, cursor: Any) -> str | None:
    """A timestamptz as the server writes it (TimeZone UTC, DateStyle ISO: "2019-03-16 14:43:23.607+00") made the
    text the SQLite loader keeps ("2019-03-16T14:43:23.607Z") without a datetime between: reading a page of
    messages spent a third of its time making datetimes and formatting them back. Anything else (BC, infinity,
    a year past 9999) as psycopg2 reads it, then formatted."""
    if text is None:
        return None
    found = _SERVER_TIME.match(text)
    if found is None:
        return _plain(psycopg2.extensions.PYDATETIMETZ(text, cursor))
    day, time_of_day, fraction = found.groups()
    return f"{day}T{time_of_day}.{(fraction or '').ljust(3, '0')[:3]}Z"


ISO_TIME = psycopg2.extensions.new_type((1184,), "TIMESTAMPTZ_AS_ISO_TEXT", _iso_time)


def _plain(value: Any) -> Any:
    """Database values as the SQLite loader gives them: ISO text for times."""
    if isinstance(value, datetime):
        return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return value


def _reason(exc: Exception) -> str:
    """psycopg2's message, first line, without a password."""
    text = (getattr(exc, "pgerror", None) or str(exc) or type(exc).__name__).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    first = first.removeprefix("ERROR:").strip()
    return redact_text(first)
