"""The loader interface: what the pipeline needs from a database, whichever it is, and reading runs and errors back.

The concrete loaders (sqlite.py, postgres.py) import this module; it imports
neither, and `registry.open_loader` picks one by the URL's kind.
"""

from __future__ import annotations

import json
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields, replace
from operator import itemgetter
from typing import Any, TypeVar

from ..errors import Cancelled, DatabaseError, DatabaseTerminalError, DatabaseTransientError
from ..liveness import is_gone
from ..records import REDERIVED_COLUMNS, Batch, Changes, ErrorRecord
from ..urls import DatabaseTarget
from ..values import utc_now
from .schema import COUNTED_TABLES, ERROR_FIELDS, RUN_FIELDS, SCHEMA_VERSION, Step
from .upserts import CHILDREN, prune_children

RESUMABLE = ("interrupted", "failed", "cancelled")  # "interrupted": recorded as running, its process gone
# plain text from a person (no markup, no entity, no properties), stored as derive()'s first branch makes it:
# a reprocess would find nothing to change there, so it does not read them (both databases read this alike)
PLAIN_STORED = (
    "(message_type IN ('RichText', 'Text', 'RichText/Html') AND properties IS NULL "
    "AND conversation_id <> '48:calllogs' AND substr(sender_raw, 1, 2) = '8:' AND sender_id = sender_raw "
    "AND content_raw <> '' AND replace(replace(content_raw, '<', ''), '&', '') = content_raw "
    "AND content_text = content_raw AND details IS NULL AND edited_at IS NULL AND deleted_at IS NULL "
    "AND (sender_name IS NULL OR sender_name <> ''))"
)
# what a reprocess reads of each message: the verbatim values, who stored it, and what was derived before
REDERIVE_READ = (
    "owner_id",
    "conversation_id",
    "id",
    "sender_raw",
    "sender_name",
    "message_type",
    "content_raw",
    "version",
    "properties",
    "amsreferences",
    "run_id",
    "sent_at",
    *REDERIVED_COLUMNS,
)
RETRY_FOR_S = 30.0  # how long a lost database is tried again before the run fails (resumable)
BUSY_FOR_S = 600.0  # how long another process's transactions are waited for (imports side by side into SQLite)
FIRST_DELAY_S, LONGEST_DELAY_S = 0.5, 8.0
T = TypeVar("T")
MediaRows = tuple[int, int, Sequence["bytes | memoryview"]]  # file_id, the seq of the first, media_chunks rows


@dataclass
class MediaFile:
    """A file made whole: its last chunks (all of a small one; an empty file's is one empty chunk), the seq they
    start at, and what names it."""

    file_id: int
    sha256: str
    size: int
    doc_id: str | None
    first_seq: int = 0
    chunks: Sequence[bytes] = ()


# what a text search looks in
SEARCHED = ("message", "error_type", "conversation_id", "message_id", "raw_snippet")
ERROR_PAGE = 1000
CHUNK_BYTES = 1 << 20  # a media chunk as the import gives it (extract.media.CHUNK)


@dataclass(frozen=True)
class ErrorFilter:
    """Which errors to read back: every field left empty matches everything."""

    run_id: str | None = None
    severity: str | None = None
    phase: str | None = None
    error_type: str | None = None
    text: str | None = None  # a case-insensitive substring of the message, type, ids or raw snippet

    def where(self, loader: Loader) -> tuple[str, list[Any]]:
        """The WHERE clause (empty when nothing is filtered) and its parameters, in `loader`'s dialect."""
        mark = loader.mark
        clauses: list[str] = []
        params: list[Any] = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name != "text" and value:
                clauses.append(f"{f.name} = {mark}")
                params.append(value)
        if self.text:
            pattern = "%" + re.sub(r"([!%_])", r"!\1", loader.fold(self.text)) + "%"
            clauses.append("(" + " OR ".join(loader.folded_like(c) for c in SEARCHED) + ")")
            params += [pattern] * len(SEARCHED)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


class Loader(ABC):
    """One database target. Every write_batch is one transaction."""

    def __init__(self, target: DatabaseTarget) -> None:
        self.target = target
        # told when a lost connection is being retried (the pipeline records it as a warning)
        self.on_retry: Callable[[str], None] | None = None
        # once set, a wait between retries ends at once with Cancelled
        self.stop: threading.Event | None = None
        self.retry_for_s = RETRY_FOR_S
        self.read_only = False  # connect() opens a connection that cannot write (see registry.open_for_reading)
        # told of each step of a migration of an archive made by an earlier version: (what, step, steps)
        self.on_migrate: Callable[[str, int, int], None] | None = None

    @property
    def display_url(self) -> str:
        return self.target.display

    @abstractmethod
    def connect(self) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def interrupt(self) -> None:
        """From another thread: the statement this connection runs ends now, with an error (nothing if idle)."""

    @abstractmethod
    def ensure_schema(self) -> int:
        """Create or migrate the tables; returns the schema version."""

    @abstractmethod
    def start_run(self, run: dict[str, Any], supersedes: str | None = None) -> None:
        """Record a new run; `supersedes` (a resumed run) is marked "resumed" in the same transaction."""

    @abstractmethod
    def write_batch(self, run_id: str, batch: Batch) -> None:
        """Rows, errors, checkpoint and run counters, all in one transaction."""

    @abstractmethod
    def finish_run(self, run_id: str, fields: dict[str, Any], errors: Sequence[ErrorRecord] = ()) -> None:
        """The run's end and its last errors, in one transaction."""

    @abstractmethod
    def write_changes(self, run_id: str, changes: Changes) -> None:
        """Rewritten rows, errors, checkpoint and run counters, all in one transaction."""

    reply_links: Sequence[str] = ()  # the dialect's statements of link_replies
    quoted_id = ""  # the dialect's SQL for the id of the message a stored message quotes (in its details)

    @abstractmethod
    def execute_all(self, statements: Sequence[str]) -> int:
        """Fixed statements (no parameters) in one transaction; the rows they changed."""

    @abstractmethod
    def execute_many(self, statement: str, rows: Sequence[tuple[Any, ...]]) -> int:
        """One statement for each row of parameters, in one transaction; the rows it changed (on PostgreSQL,
        sent a page at a time, those of each page's last statement: a lower bound)."""

    @abstractmethod
    def execute_each(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[int]:
        """Statements with their parameters, in order, in one transaction; the rows each changed."""

    # --- media (schema 4): files in chunks, content-addressed ---------------------------------------
    def media_begin(self, file_id: int, run_id: str) -> None:
        """A large file being stored a few chunks a transaction: an upload until it is finished (a run that stops
        part way leaves chunks no file names; `media_forget_uploads` removes them)."""
        m = self.mark
        self.execute_each(
            [
                (
                    f"INSERT INTO media_uploads (file_id, run_id, started_at) VALUES ({m}, {m}, {m})",
                    (file_id, run_id, utc_now()),
                )
            ]
        )

    # bytes a media_chunks row holds at most: None keeps each chunk whole (SQLite, with 64 KiB pages, writes a
    # 1 MiB blob fastest); PostgreSQL sets it to what fits a page, since a row that does not is TOASTed
    media_row_bytes: int | None = None
    # the message rows' COPY text carries each message's search index (fold.tsvector of its text), made where
    # the COPY text is made (the import's worker): PostgreSQL's `messages.search`
    search_column = False
    # SQLite's index can be made again from nothing (`rebuild_search_index`), which beats keeping it message by
    # message once most messages' texts are rewritten; while `search_deferred`, rewritten texts leave it be
    search_rebuilds = False
    search_deferred = False

    def scan_once(self) -> None:  # noqa: B027 - PostgreSQL's cache is the server's
        """This connection reads through a table once and nothing again: a small cache for it (SQLite's, of
        32 MB a connection, would only hold pages never read again), and its sorts on disk."""

    def prepare(self, changes: Changes) -> None:  # noqa: B027 - SQLite has nothing to prepare
        """What can be made of rewritten rows before their transaction, by the process that derived them (a
        reprocess's deriving process): PostgreSQL's COPY text of the messages, with their search index."""

    def rebuild_search_index(self, on_progress: Callable[[int], None] | None = None) -> int:
        """The search index made again from every message's text, in one transaction, `on_progress(indexed so
        far)` now and then; messages indexed."""
        raise NotImplementedError

    def media_chunks(self, file_id: int, first_seq: int, chunks: Sequence[bytes]) -> int:
        """Chunks of a file being stored, in one transaction; the media_chunks rows they took (the next
        `first_seq` is this one plus them)."""
        rows = self._media_rows(chunks)
        self._write_media([(file_id, first_seq, rows)], [])
        return len(rows)

    def _media_rows(self, chunks: Sequence[bytes]) -> Sequence[bytes | memoryview]:
        """The chunks as media_chunks rows: each whole, or cut to `media_row_bytes` (without copying)."""
        size = self.media_row_bytes
        if size is None:
            return chunks
        rows: list[bytes | memoryview] = []
        for chunk in chunks:
            view = memoryview(chunk)
            rows += [view[at : at + size] for at in range(0, len(chunk), size)] or [view]
        return rows

    def _write_media(self, rows: Sequence[MediaRows], statements: list[tuple[str, Sequence[Any]]]) -> list[int]:
        """media_chunks rows (each file's from its first seq on), then statements, in one transaction; the rows
        each statement changed."""
        m = self.mark
        insert = f"INSERT INTO media_chunks (file_id, seq, data) VALUES ({m}, {m}, {m})"
        chunk_rows = [
            (insert, (file_id, first_seq + i, row)) for file_id, first_seq, data in rows for i, row in enumerate(data)
        ]
        return self.execute_each([*chunk_rows, *statements])[len(chunk_rows) :]

    def media_finish(
        self,
        files: Sequence[MediaFile],
        run_id: str,
        sidecars: Sequence[tuple[str, str | None, str | None]] = (),
    ) -> list[bool]:
        """Files made whole (with their last chunks, all of a small one), in one transaction: each stored under
        its sha256 unless that content is stored already (then its chunks go), its document id linked to it; and
        what sidecars say (doc id, file name, content type). Per file, True when it was new."""
        m = self.mark
        statements = [self._media_doc(doc_id, None, name, kind, run_id) for doc_id, name, kind in sidecars]
        inserts = []  # each file's INSERT INTO media_files, by its place among the statements
        for file in files:
            inserts.append(len(statements))
            statements += [
                (
                    "INSERT INTO media_files (sha256, size, file_name, file_id, run_id, stored_at) "
                    f"VALUES ({m}, {m}, {m}, {m}, {m}, {m}) ON CONFLICT (sha256) DO NOTHING",
                    (file.sha256, file.size, None, file.file_id, run_id, utc_now()),
                ),
                (
                    f"DELETE FROM media_chunks WHERE file_id = {m} AND NOT EXISTS "
                    f"(SELECT 1 FROM media_files WHERE file_id = {m})",
                    (file.file_id, file.file_id),
                ),
                (f"DELETE FROM media_uploads WHERE file_id = {m}", (file.file_id,)),
                *([self._media_doc(file.doc_id, file.sha256, None, None, run_id)] if file.doc_id else []),
            ]
        rows = [(f.file_id, f.first_seq, self._media_rows(f.chunks or ([] if f.first_seq else [b""]))) for f in files]
        changed = self._write_media([r for r in rows if r[2]], statements)
        return [changed[i] > 0 for i in inserts]

    def _media_doc(
        self, doc_id: str, sha256: str | None, file_name: str | None, content_type: str | None, run_id: str
    ) -> tuple[str, Sequence[Any]]:
        """A document id's file and what its sidecar says, whichever came first (each fills in what it knows)."""
        m = self.mark
        return (
            "INSERT INTO media_docs AS d (doc_id, sha256, file_name, content_type, run_id) "
            f"VALUES ({m}, {m}, {m}, {m}, {m}) ON CONFLICT (doc_id) DO UPDATE SET "
            "sha256 = coalesce(excluded.sha256, d.sha256), file_name = coalesce(excluded.file_name, d.file_name), "
            "content_type = coalesce(excluded.content_type, d.content_type)",
            (doc_id, sha256, file_name, content_type, run_id),
        )

    def media_forget_uploads(self, live_run_ids: Sequence[str]) -> int:
        """The chunks of files whose storing stopped part way (a killed or failed run): gone, to be stored again."""
        keep = ", ".join(self.mark for _ in live_run_ids)
        where = f"run_id NOT IN ({keep})" if live_run_ids else "1 = 1"
        done = self.execute_each(
            [
                (
                    f"DELETE FROM media_chunks WHERE file_id IN (SELECT file_id FROM media_uploads WHERE {where})",
                    tuple(live_run_ids),
                ),
                (f"DELETE FROM media_uploads WHERE {where}", tuple(live_run_ids)),
            ]
        )
        return done[1]

    def media_stored_docs(self) -> set[str]:
        """The document ids whose file is stored (a resumed import does not store them again)."""
        return {
            row[0]
            for row in self._select("SELECT d.doc_id FROM media_docs AS d JOIN media_files AS f ON f.sha256 = d.sha256")
        }

    def link_media(self) -> int:
        """Each attachment to its stored file by document id, and each file's name and type from its sidecar."""
        return sum(
            self.execute_each(
                [
                    (
                        "UPDATE attachments SET sha256 = (SELECT d.sha256 FROM media_docs AS d "
                        "WHERE d.doc_id = attachments.doc_id) WHERE doc_id IS NOT NULL AND sha256 IS NULL "
                        "AND EXISTS (SELECT 1 FROM media_docs AS d WHERE d.doc_id = attachments.doc_id "
                        "AND d.sha256 IS NOT NULL)",
                        (),
                    ),
                    (
                        "UPDATE media_files SET content_type = (SELECT max(d.content_type) FROM media_docs AS d "
                        "WHERE d.sha256 = media_files.sha256) WHERE content_type IS NULL",
                        (),
                    ),
                    (
                        "UPDATE media_files SET file_name = (SELECT max(d.file_name) FROM media_docs AS d "
                        "WHERE d.sha256 = media_files.sha256) WHERE file_name IS NULL",
                        (),
                    ),
                ]
            )[:1]
        )

    def media_missing(self, run_ids: Sequence[str]) -> list[tuple[str, str, str, str]]:
        """(conversation, message, doc id, file name) of the attachments these runs stored (a run and those it
        continued) whose file the archive lacks."""
        marks = ", ".join(self.mark for _ in run_ids)
        return self._select(
            "SELECT a.conversation_id, a.message_id, a.doc_id, a.file_name FROM attachments AS a "
            f"JOIN messages AS msg ON msg.owner_id = a.owner_id AND msg.conversation_id = a.conversation_id "
            f"AND msg.id = a.message_id WHERE msg.run_id IN ({marks}) AND a.doc_id IS NOT NULL AND a.sha256 IS NULL "
            "ORDER BY a.conversation_id, a.message_id, a.position",
            list(run_ids),
        )

    def media_orphans(self, doc_ids: Sequence[str]) -> list[str]:
        """Of these document ids (stored files), those no attachment names."""
        found: set[str] = set()
        for start in range(0, len(doc_ids), 500):
            page = list(doc_ids[start : start + 500])
            marks = ", ".join(self.mark for _ in page)
            found |= {
                r[0] for r in self._select(f"SELECT DISTINCT doc_id FROM attachments WHERE doc_id IN ({marks})", page)
            }
        return [doc for doc in doc_ids if doc not in found]

    def media_file(self, sha256: str) -> dict[str, Any] | None:
        rows = self._select(
            f"SELECT sha256, size, content_type, file_name, file_id FROM media_files WHERE sha256 = {self.mark}",
            (sha256,),
        )
        return (
            dict(zip(("sha256", "size", "content_type", "file_name", "file_id"), rows[0], strict=True))
            if rows
            else None
        )

    def media_of_attachments(self, conversation_id: str | None = None) -> list[tuple[Any, ...]]:
        """(owner_id, conversation_id, conversation name, message id, sent_at, sha256, file name) of every
        attachment whose file is stored (of one conversation), in the order they were sent."""
        m = self.mark
        where = f" AND a.conversation_id = {m}" if conversation_id is not None else ""
        return self._select(
            "SELECT a.owner_id, a.conversation_id, c.display_name, a.message_id, msg.sent_at, a.sha256, "
            "coalesce(d.file_name, a.file_name) FROM attachments AS a "
            "JOIN messages AS msg ON msg.owner_id = a.owner_id AND msg.conversation_id = a.conversation_id "
            "AND msg.id = a.message_id "
            "LEFT JOIN conversations AS c ON c.owner_id = a.owner_id AND c.id = a.conversation_id "
            "LEFT JOIN media_docs AS d ON d.doc_id = a.doc_id "
            f"WHERE a.sha256 IS NOT NULL{where} "
            "ORDER BY a.owner_id, a.conversation_id, msg.sent_at, a.message_id, a.position",
            (conversation_id,) if conversation_id is not None else (),
        )

    def open_media(self, sha256: str, read_bytes: int = 8 << 20) -> Iterator[bytes]:
        """A stored file's bytes, row by row in order (about `read_bytes` a query: memory stays flat)."""
        stored = self.media_file(sha256)
        if stored is None:
            raise DatabaseError(f"{self.display_url}: no stored file {sha256}")
        seq, m = 0, self.mark
        per_read = max(1, read_bytes // (self.media_row_bytes or CHUNK_BYTES))
        while True:
            rows = self._select(
                f"SELECT seq, data FROM media_chunks WHERE file_id = {m} AND seq >= {m} ORDER BY seq LIMIT {m}",
                (stored["file_id"], seq, per_read),
            )
            for number, data in rows:
                if number != seq:
                    raise DatabaseError(f"{self.display_url}: the stored file {sha256} lacks its chunk {seq}")
                yield bytes(data)
                seq += 1
            if len(rows) < per_read:
                return

    def link_replies(self) -> int:
        """Set `reply_to` where a quote names a message the archive holds (and clear it where not); the rows set."""
        return self.execute_all(self.reply_links)

    def link_quotes(self, quoting: Sequence[tuple[str, str, str, str]]) -> int:
        """`reply_to` of these (owner, conversation, id, quoted id), where the quoted message is stored: the rows
        set."""
        m = self.mark
        statement = (
            f"UPDATE messages SET reply_to = {m} WHERE owner_id = {m} AND conversation_id = {m} AND id = {m} AND "
            f"{self.quoted_id} = {m} AND "  # the stored version quotes it (a losing version's quote was noted too)
            f"EXISTS (SELECT 1 FROM messages AS o WHERE o.owner_id = {m} AND o.conversation_id = {m} AND o.id = {m})"
        )
        return self.execute_many(
            statement,
            [(quoted, owner, conv, msg, quoted, owner, conv, quoted) for owner, conv, msg, quoted in quoting],
        )

    def prune_children(self) -> int:
        """Attachments, reactions and mentions of a message's other versions (the stored version won): removed."""
        return self.execute_all([prune_children(table) for table in CHILDREN])

    @staticmethod
    def checked_run_fields(fields: dict[str, Any]) -> dict[str, Any]:
        """Columns of etl_runs only: their names go into SQL."""
        unknown = set(fields) - set(RUN_FIELDS)
        if unknown:
            raise ValueError(f"etl_runs has no column(s) {sorted(unknown)}")
        return fields

    def select(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """A read (the archive's reader): rows as plain values, times as ISO text; `mark` is the placeholder."""
        return self._select(sql, params)

    def table_counts(self) -> dict[str, int]:
        return {table: int(self._select(f"SELECT count(*) FROM {table}")[0][0]) for table in COUNTED_TABLES}

    # --- reading back: the same SQL for both databases -------------------------------------------
    mark = "?"  # the parameter placeholder

    def folded_like(self, column: str) -> str:
        """`column` matches a pattern (made with `fold`) whatever the case, in every script: "привет" finds "Привет"."""
        return f"{column} LIKE {self.mark} ESCAPE '!'"

    def fold(self, text: str) -> str:
        """Text as `folded_like` compares it."""
        return text

    newest_first = "started_at DESC"

    @abstractmethod
    def _select(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of a query, times as ISO text; DatabaseError when the database fails."""

    def runs(self, limit: int = 50) -> list[dict[str, Any]]:
        """The newest runs first."""
        rows = self._select(
            f"SELECT {', '.join(RUN_FIELDS)} FROM etl_runs ORDER BY {self.newest_first} LIMIT {self.mark}",
            (limit,),
        )
        return [_run_dict(row) for row in rows]

    def grant_reader(self, role: str) -> None:
        """Let a database role read the archive and nothing more (PostgreSQL: a shared archive on a server)."""
        raise DatabaseError(
            f"{self.display_url}: a SQLite archive is a file: share it read-only with the file's permissions "
            "(grant-reader is for an archive on a PostgreSQL server)"
        )

    def run(self, run_id: str) -> dict[str, Any] | None:
        """One run, or None when there is no such run."""
        rows = self._select(f"SELECT {', '.join(RUN_FIELDS)} FROM etl_runs WHERE id = {self.mark}", (run_id,))
        return _run_dict(rows[0]) if rows else None

    def reconciliation(self, run_id: str) -> list[dict[str, Any]]:
        """What the run found of each conversation: `in_export` (message records in the export), `stored` (new,
        updated, or already there and unchanged), `skipped`; `skip_rows` (the etl_errors rows of skipped records,
        over the runs it continued too) and `adds_up`: in_export == stored + skipped, each skip with its row.

        A row with the id '' stands for the conversations without an id (one error row for each of those)."""
        m = self.mark
        rows = self._select(
            "SELECT t.owner_id, t.conversation_id, c.display_name, t.in_export, t.stored, t.skipped "
            "FROM run_conversations AS t LEFT JOIN conversations AS c ON c.owner_id = t.owner_id "
            f"AND c.id = t.conversation_id WHERE t.run_id = {m} ORDER BY t.owner_id, t.conversation_id",
            (run_id,),
        )
        chain = self.run_chain(run_id)
        marks = ", ".join(m for _ in chain)
        skip_rows = dict(
            self._select(
                f"SELECT conversation_id, count(*) FROM etl_errors WHERE run_id IN ({marks}) AND severity = 'error' "
                "AND phase = 'transform' AND conversation_id IS NOT NULL GROUP BY conversation_id",
                chain,
            )
        )
        found = []
        for owner, conv_id, name, in_export, stored, skipped in rows:
            errors = int(skip_rows.get(conv_id, 0)) if conv_id else int(skipped)
            found.append(
                {
                    "owner_id": owner,
                    "id": conv_id,
                    "display_name": name,
                    "in_export": int(in_export),
                    "stored": int(stored),
                    "skipped": int(skipped),
                    "skip_rows": errors,
                    "adds_up": int(in_export) == int(stored) + int(skipped) and errors == int(skipped),
                }
            )
        return found

    def run_chain(self, run_id: str) -> list[str]:
        """The run and the runs it continued (resumed_from), newest first."""
        chain = [run_id]
        while len(chain) < 1000:
            rows = self._select(f"SELECT resumed_from FROM etl_runs WHERE id = {self.mark}", (chain[-1],))
            if not rows or not rows[0][0] or rows[0][0] in chain:
                break
            chain.append(rows[0][0])
        return chain

    def live_runs(self, kind: str = "import") -> list[dict[str, Any]]:
        """Runs of that kind whose process is still at work, newest first."""
        runs = self.runs(limit=1000)
        return [run for run in runs if run["status"] == "running" and (run.get("kind") or "import") == kind]

    def beat(self, run_id: str) -> None:
        """A run that writes nothing for a while (paused) says it is still there."""
        beat = f"UPDATE etl_runs SET heartbeat_at = {self.mark} WHERE id = {self.mark}"
        self.execute_many(beat, [(utc_now(), run_id)])

    def unfinished_runs(self, kind: str = "import") -> list[dict[str, Any]]:
        """Runs of that kind that stopped before completing (cancelled, failed, killed while running), newest first."""
        return [
            run for run in self.runs(limit=1000) if run["status"] in RESUMABLE and (run.get("kind") or "import") == kind
        ]

    # --- reading what a reprocess re-derives ------------------------------------------------------
    def message_page(
        self, after: Sequence[str] | None, limit: int, where: str | None = None, upto: Sequence[str] | None = None
    ) -> list[tuple[Any, ...]]:
        """REDERIVE_READ of the next `limit` messages after the key `after` (owner, conversation, id), up to the
        key `upto` (included) when given, in key order."""
        condition, params = self._key_range(after, upto, where)
        columns = ", ".join(REDERIVE_READ)
        return self._select(
            f"SELECT {columns} FROM messages{condition} ORDER BY owner_id, conversation_id, id LIMIT {self.mark}",
            [*params, limit],
        )

    def _key_range(
        self, after: Sequence[str] | None, upto: Sequence[str] | None = None, where: str | None = None
    ) -> tuple[str, list[Any]]:
        """` WHERE ...` for the messages after the key `after`, up to the key `upto` (included), matching `where`
        (each when given; "" for all), and its parameters."""
        m = self.mark
        clauses, params = [], []
        if after is not None:
            clauses.append(f"(owner_id, conversation_id, id) > ({m}, {m}, {m})")
            params += list(after)
        if upto is not None:
            clauses.append(f"(owner_id, conversation_id, id) <= ({m}, {m}, {m})")
            params += list(upto)
        if where:
            clauses.append(f"({where})")
        return (f" WHERE {' AND '.join(clauses)}" if clauses else ""), params

    def conversation_counts(
        self, after: Sequence[str] | None = None, where: str | None = None
    ) -> list[tuple[Any, ...]]:
        """(owner_id, conversation_id, messages) of the messages after the key `after` (those matching `where`), in
        key order."""
        condition, params = self._key_range(after, where=where)
        return self._select(
            f"SELECT owner_id, conversation_id, count(*) FROM messages{condition} "
            "GROUP BY owner_id, conversation_id ORDER BY owner_id, conversation_id",
            params,
        )

    def split_keys(
        self,
        after: Sequence[str] | None,
        parts: int,
        where: str | None = None,
        counts: list[tuple[Any, ...]] | None = None,
    ) -> list[tuple[str, str, str]]:
        """Keys that cut the messages after the key `after` (those matching `where`: a reprocess's to derive) into
        `parts` runs of about as many messages each (fewer keys when there are few messages), in key order: from
        each conversation's count (`counts`, when read already), and the id at an offset within the conversation a
        cut falls in."""
        m = self.mark
        if counts is None:
            counts = self.conversation_counts(after, where)
        total = sum(int(row[2]) for row in counts)
        cuts: list[tuple[str, str, str]] = []
        seen = 0
        targets = [total * part // parts for part in range(1, parts)]
        for owner, conversation, count in counts:
            while targets and targets[0] < seen + int(count):
                offset = targets.pop(0) - seen  # the cut's last message is this one of the conversation's
                first = after is not None and (after[0], after[1]) == (owner, conversation)
                row = self._select(
                    f"SELECT id FROM messages WHERE owner_id = {m} AND conversation_id = {m}"
                    + (f" AND id > {m}" if first else "")
                    + (f" AND ({where})" if where else "")
                    + f" ORDER BY id LIMIT 1 OFFSET {m}",
                    [owner, conversation, *([after[2]] if first and after is not None else []), offset],
                )
                if row and (not cuts or cuts[-1] != (owner, conversation, row[0][0])):
                    cuts.append((owner, conversation, row[0][0]))
            seen += int(count)
        return cuts

    def messages_by_key(self, keys: Sequence[tuple[str, str, str]]) -> list[tuple[Any, ...]]:
        """REDERIVE_READ of these messages (their (owner, conversation, id); a few hundred at a time)."""
        if not keys:
            return []
        m = self.mark
        # joined with the keys as a table: the planner looks each one up (hundreds of ORs take PostgreSQL long to plan)
        wanted = ", ".join(f"({m}, {m}, {m})" for _ in keys)
        columns = ", ".join(f"m.{column}" for column in REDERIVE_READ)
        return self._select(
            f"WITH k(o, c, i) AS (VALUES {wanted}) SELECT {columns} FROM k JOIN messages AS m "
            "ON m.owner_id = k.o AND m.conversation_id = k.c AND m.id = k.i",
            [v for key in keys for v in key],
        )

    def child_rows(self, table: str, first: Sequence[str], last: Sequence[str]) -> list[tuple[Any, ...]]:
        """The attachments, reactions or mentions of the messages from key `first` to key `last` (each an
        (owner, conversation, id))."""
        columns = ", ".join(CHILDREN[table][0])
        m = self.mark
        return self._select(
            f"SELECT {columns} FROM {table} WHERE (owner_id, conversation_id, message_id) >= ({m}, {m}, {m}) "
            f"AND (owner_id, conversation_id, message_id) <= ({m}, {m}, {m})",
            [*first, *last],
        )

    def conversation_page(self, after: Sequence[str] | None, limit: int) -> list[tuple[Any, ...]]:
        """(owner_id, id, thread_properties, run_id) of the next conversations after the key `after` (owner, id),
        in key order."""
        m = self.mark
        condition = f" WHERE (owner_id, id) > ({m}, {m})" if after is not None else ""
        params: list[Any] = list(after) if after is not None else []
        return self._select(
            f"SELECT owner_id, id, thread_properties, run_id FROM conversations{condition} "
            f"ORDER BY owner_id, id LIMIT {m}",
            [*params, limit],
        )

    def _of_conversations(self, keys: Sequence[tuple[str, str]]) -> tuple[str, list[str]]:
        """`WITH k(o, c) AS (VALUES ...)`: these conversations ((owner, id) each) as a table to join, and its
        parameters (hundreds of ORs take PostgreSQL long to plan)."""
        m = self.mark
        return (
            f"WITH k(o, c) AS (VALUES {', '.join(f'({m}, {m})' for _ in keys)}) ",
            [value for key in keys for value in key],
        )

    def participants_of(self, conversations: Sequence[tuple[str, str]]) -> list[tuple[Any, ...]]:
        """(owner_id, conversation_id, participant_id, display_name, source) of these conversations' people."""
        keys, params = self._of_conversations(conversations)
        return self._select(
            f"{keys}SELECT p.owner_id, p.conversation_id, p.participant_id, p.display_name, p.source FROM k "
            "JOIN participants AS p ON p.owner_id = k.o AND p.conversation_id = k.c",
            params,
        )

    def senders_of(self, conversations: Sequence[tuple[str, str]] | None) -> list[tuple[Any, ...]]:
        """Who sent what in these conversations ((owner, id) each; None: in all), summed up in the database (never
        a row a message): (owner_id, conversation_id, sender_id, sender_name, from_thread, latest sent_at, latest
        id, run_id)."""
        keys, params = self._of_conversations(conversations) if conversations is not None else ("", [])
        joined = "k JOIN messages AS m ON m.owner_id = k.o AND m.conversation_id = k.c" if keys else "messages AS m"
        raw = "m.sender_raw"
        from_thread = f"(substr({raw}, 1, 3) = '19:' OR replace({raw}, '@thread.', '') <> {raw})"
        return self._select(
            f"{keys}SELECT m.owner_id, m.conversation_id, m.sender_id, m.sender_name, {from_thread} AS from_thread, "
            f"max(m.sent_at), max(m.id), m.run_id FROM {joined} WHERE m.sender_id IS NOT NULL "
            "GROUP BY m.owner_id, m.conversation_id, m.sender_id, m.sender_name, from_thread, m.run_id",
            params,
        )

    def known_names(self) -> dict[str, str]:
        """Everyone's display name the archive knows: from the participants, then from one-to-one chats' names.

        One row a person (a million conversations with the same two people are two rows); where a person has
        several names, the least in the database's order, so the choice is the same every time."""
        names: dict[str, str] = {}
        for person, name in self._select(
            "SELECT participant_id, min(display_name) FROM participants WHERE display_name IS NOT NULL "
            "AND display_name <> '' GROUP BY participant_id"
        ):
            names[person] = name
        for person, name in self._select(
            "SELECT id, display_name FROM conversations WHERE kind = 'one_to_one' AND display_name IS NOT NULL "
            "AND display_name <> '' AND id NOT IN (SELECT participant_id FROM participants "
            "WHERE display_name IS NOT NULL AND display_name <> '')"
        ):
            names.setdefault(person, name)
        return names

    def run_owners(self) -> dict[str, str | None]:
        """Each run's export owner (its userId, or the owner it was given without one), for what a reprocess
        reads relative to the owner."""
        return dict(self._select("SELECT id, coalesce(owner_id, export_user_id) FROM etl_runs"))

    def is_empty(self, table: str) -> bool:
        """Whether a table has no row (without counting them: a count of millions takes seconds)."""
        return not self._select(f"SELECT 1 FROM {_data_table(table)} LIMIT 1")

    def count_rows(self, table: str, where: str | None = None) -> int:
        table = _data_table(table)
        return int(self._select(f"SELECT count(*) FROM {table}" + (f" WHERE {where}" if where else ""))[0][0])

    def errors(
        self, run_id: str | None = None, limit: int | None = None, where: ErrorFilter | None = None
    ) -> list[dict[str, Any]]:
        """Errors in the order they were recorded."""
        where = where or ErrorFilter()
        if run_id:
            where = replace(where, run_id=run_id)
        clause, params = where.where(self)
        sql = f"SELECT {', '.join(ERROR_FIELDS)} FROM etl_errors{clause} ORDER BY id"
        if limit:
            sql += f" LIMIT {self.mark}"
            params.append(limit)
        return [dict(zip(ERROR_FIELDS, row, strict=True)) for row in self._select(sql, params)]

    def error_ids(self, where: ErrorFilter, order_by: str = "id", descending: bool = False) -> list[int]:
        """The ids of the matching errors, sorted: a long log is then read a page at a time."""
        if order_by not in ERROR_FIELDS:
            raise ValueError(f"cannot sort errors by {order_by!r}")
        clause, params = where.where(self)
        direction = "DESC" if descending else "ASC"
        tie = "" if order_by == "id" else f", id {direction}"
        rows = self._select(f"SELECT id FROM etl_errors{clause} ORDER BY {order_by} {direction}{tie}", params)
        return list(map(itemgetter(0), rows))

    def errors_by_id(self, ids: Sequence[int]) -> list[dict[str, Any]]:
        """The errors with these ids, in the order given."""
        return list(self.iter_errors(ids))

    def iter_errors(self, ids: Sequence[int]) -> Iterator[dict[str, Any]]:
        """The errors with these ids, in the order given, read a page at a time (for exporting a long log)."""
        for start in range(0, len(ids), ERROR_PAGE):
            page = list(ids[start : start + ERROR_PAGE])
            marks = ", ".join(self.mark for _ in page)
            rows = self._select(f"SELECT {', '.join(ERROR_FIELDS)} FROM etl_errors WHERE id IN ({marks})", page)
            found = {row[0]: dict(zip(ERROR_FIELDS, row, strict=True)) for row in rows}
            yield from (found[i] for i in page if i in found)

    def error_kinds(self) -> list[tuple[str | None, str | None, str | None, str | None, int]]:
        """(run_id, severity, phase, error_type, count) for every combination present: the filters' choices."""
        rows = self._select(
            "SELECT run_id, severity, phase, error_type, count(*) FROM etl_errors "
            "GROUP BY run_id, severity, phase, error_type"
        )
        return [(r[0], r[1], r[2], r[3], int(r[4])) for r in rows]

    # --- transactions that survive a lost connection ---------------------------------------------------
    @abstractmethod
    def _transient(self, exc: BaseException) -> bool | None:
        """True when the error passes (retry), False when it does not, None when it is not the database's."""

    def _busy(self, exc: BaseException) -> bool:
        """Whether the failure is another process's write in progress (SQLite's lock), which is waited for."""
        return False

    @abstractmethod
    def _reason(self, exc: BaseException) -> str:
        """The database's message, in one line, without a password."""

    @abstractmethod
    def _reconnect(self) -> None:
        """Connect again after a lost connection (failing quietly: the next try says why)."""

    def _transaction(self, action: Callable[[], T], committed: Callable[[], bool] | None = None) -> T | None:
        """Run one transaction; when the failure passes (dlt's transient), reconnect and run it again with backoff
        for up to `retry_for_s`; otherwise fail at once (terminal).

        `committed` tells, after a reconnect, whether the failed attempt did commit (its acknowledgement
        was what got lost): then it is not run again, so nothing (no etl_errors row) is written twice.
        """
        delay, waited, attempt = FIRST_DELAY_S, 0.0, 0
        while True:
            try:
                return action()
            except Exception as exc:
                transient = self._transient(exc)
                if transient is None:
                    raise
                reason = self._reason(exc)
                if not transient:
                    raise DatabaseTerminalError(f"{self.display_url}: {reason}") from None
                busy = self._busy(exc)
                if waited >= (BUSY_FOR_S if busy else self.retry_for_s):
                    raise DatabaseTransientError(
                        f"{self.display_url}: the database could not be reached for {waited:.0f} s ({reason}); "
                        "what was committed is kept: resume once it is back"
                    ) from None
                attempt += 1
                if busy:
                    delay = FIRST_DELAY_S  # another process's transaction: it ends soon, and nothing is lost
                elif self.on_retry is not None:
                    self.on_retry(f"lost the database ({reason}); reconnecting, try {attempt}")
                self._pause(delay)
                waited += delay
                delay = min(delay * 2, LONGEST_DELAY_S)
                self._reconnect()
                if committed is not None and self._safely(committed):
                    return None

    def _safely(self, check: Callable[[], bool]) -> bool:
        """A check after a reconnect; a database still gone answers no (the next try will tell)."""
        try:
            return check()
        except Exception as exc:
            if self._transient(exc) is None:
                raise
            return False

    def _pause(self, seconds: float) -> None:
        """Wait before the next try; a stop ends the wait (and the run) at once."""
        if self.stop is None:
            time.sleep(seconds)
        elif self.stop.wait(seconds):
            raise Cancelled()

    def _run_value(self, run_id: str, column: str) -> Any:
        """One column of a run's row, as stored (for the checks of what committed)."""
        if column not in RUN_FIELDS:
            raise ValueError(f"etl_runs has no column {column!r}")
        rows = self._select(f"SELECT {column} FROM etl_runs WHERE id = {self.mark}", (run_id,))
        return rows[0][0] if rows else None

    def _batch_committed(self, run_id: str, batch: Batch | Changes) -> bool:
        """Whether a batch (of an import or a reprocess) is in: its checkpoint (unique: it holds the time it
        was made) is the run's now."""
        if batch.checkpoint is None:
            return False
        stored = self._run_value(run_id, "checkpoint")
        if isinstance(stored, str):
            stored = json.loads(stored)
        return isinstance(stored, dict) and stored.get("created_at") == batch.checkpoint.get("created_at")

    def _migrating(self, step: Step, number: int, steps: int, current: int) -> None:
        if current and self.on_migrate is not None:  # a new database is made, not migrated
            self.on_migrate(step.name, number, steps)

    def check_schema(self) -> int:
        """The schema version, read only: a database this program did not make, or a newer one, is refused."""
        try:
            rows = self._select("SELECT max(version) FROM schema_version")
        except DatabaseError as exc:
            if "permission denied" in str(exc):
                raise DatabaseError(
                    f"{self.display_url}: permission denied: this role may not read the archive; its owner can "
                    "allow it with: skype-etl db grant-reader ROLE"
                ) from exc
            raise DatabaseError(
                f"{self.display_url}: not an archive of Skype exports (no import was ever made into it)"
            ) from exc
        current = int(rows[0][0] or 0) if rows else 0
        if current > SCHEMA_VERSION:
            raise self.newer_schema(current)
        return current

    def newer_schema(self, current: int) -> DatabaseError:
        return DatabaseError(
            f"{self.display_url}: the database was made by a newer version of this program "
            f"(schema {current}, this one knows {SCHEMA_VERSION}); update the program"
        )

    def __enter__(self) -> Loader:
        self.connect()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _data_table(table: str) -> str:
    """A table's name, known to be one of the archive's (it goes into SQL)."""
    if table not in COUNTED_TABLES:
        raise ValueError(f"no table {table!r}")
    return table


def _run_dict(row: Sequence[Any]) -> dict[str, Any]:
    run = dict(zip(RUN_FIELDS, row, strict=True))
    for key in ("checkpoint", "telemetry"):
        if isinstance(run.get(key), str):
            run[key] = json.loads(run[key])
    if run["status"] == "running" and is_gone(run):
        run["status"] = "interrupted"  # killed, or its machine lost power: it can be resumed
    return run
