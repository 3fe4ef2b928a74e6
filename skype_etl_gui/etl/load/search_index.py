"""SQLite's full-text index (schema 5), kept by the loader in the same transaction as the messages it writes.

`messages_fts` holds each message's folded words (etl.fold), a word naming its
conversation, and its rowid in `messages`, under a key that orders by time: the
message's time in ms shifted left by 21 bits, its rowid's low 21 bits below.
Newest first is then FTS5's own descending rowid order, so the first page of
hits stops after 50 matches however common the word; after:/before: are key
ranges, and in: is a word of the match (`zzin<scope>`, `search_scopes` numbering
the conversations). Two messages in the same millisecond whose rowids are 2^21
apart would share a key: the later one takes the next free key of that
millisecond, noted in `search_moved`.

Keys and scopes are computed in SQL, and ASCII text goes in as it is (the
tokenizer folds ASCII as etl.fold does): for most messages no Python runs per
row, so the import's thread holds the interpreter lock no longer than before
(the window's GUI thread shares it). No triggers: any trigger on `messages`
made the import 2-4x as slow, and an FTS5 insert from a trigger flushes at
every row. So other tools may write `messages` freely: what they add is indexed
by the loader's next write (rowids above the watermark
`search_state.indexed_up_to`); what they change in place is indexed again when
a reprocess rewrites it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from ..fold import INDEXED_CHARS, search_text
from .schema import SQLITE_SEARCH_TABLE

SHIFT = 21
LOW = (1 << SHIFT) - 1
MAX_MS = (1 << (62 - SHIFT)) - 1  # the year 2109: keys stay positive 63-bit
PAGE = 5000
REBUILD_SLICE = 100_000  # rowids indexed between two reports of a rebuild's progress
SCOPE = "zzin"  # + a conversation's number in search_scopes: a word no message writes


def key_sql(sent_at: str, rowid: str) -> str:
    """A message's key, in SQL: its time in ms (0 for none), shifted, with its rowid's low bits."""
    ms = f"coalesce(CAST(round((julianday({sent_at}) - 2440587.5) * 86400000) AS INTEGER), 0)"
    return f"((min(max({ms}, 0), {MAX_MS}) << {SHIFT}) | ({rowid} & {LOW}))"


# ASCII text (a byte a character) goes in as it is: the index's tokenizer (unicode61) lowers ASCII and cuts it
# at every character that is not a letter or digit, as etl.fold does; only other text needs Python's folding
BODY = (
    "CASE WHEN length(m.content_text) = length(CAST(m.content_text AS BLOB)) "
    f"THEN substr(m.content_text, 1, {INDEXED_CHARS}) ELSE skype_search(m.content_text) END "
    f"|| ' {SCOPE}' || s.scope"
)
ROWS = (
    f"SELECT {key_sql('m.sent_at', 'm.rowid')}, {BODY}, m.rowid FROM messages AS m JOIN search_scopes AS s "
    "ON s.owner_id = m.owner_id AND s.conversation_id = m.conversation_id"
)


def key_range(after: str | None, before: str | None) -> tuple[int, int]:
    """The keys of messages sent at or after `after` and before `before` (whole-second ISO times; None: no
    bound)."""

    def ms(value: str) -> int:
        return min(max(int(datetime.fromisoformat(value).timestamp()) * 1000, 0), MAX_MS)

    low = ms(after) << SHIFT if after else 0
    high = ms(before) << SHIFT if before else (MAX_MS + 1) << SHIFT
    return low, high


def register(conn: sqlite3.Connection) -> None:
    """The Python function the index's SQL calls for text that is not ASCII: once, as the connection opens (SQLite
    refuses to define one while a statement is under way)."""
    conn.create_function("skype_search", 1, search_text, deterministic=True)


def _bounds(conn: sqlite3.Connection) -> tuple[int, int]:
    """The watermark, and the highest rowid of messages."""
    row = conn.execute("SELECT indexed_up_to, (SELECT coalesce(max(rowid), 0) FROM messages) FROM search_state")
    watermark, top = row.fetchone()
    return watermark, top


def behind(conn: sqlite3.Connection) -> bool:
    """Whether messages above the watermark wait to be indexed (asked before taking the write lock)."""
    watermark, top = _bounds(conn)
    return top > watermark


def index_new(conn: sqlite3.Connection, upto: int | None = None) -> int:
    """Index the messages above the watermark (new ones: a new row's rowid is above every other), up to the rowid
    `upto` when given; how many."""
    watermark, top = _bounds(conn)
    top = top if upto is None else min(top, upto)
    if top <= watermark:
        return 0
    conn.execute(
        "INSERT OR IGNORE INTO search_scopes (owner_id, conversation_id) SELECT DISTINCT owner_id, conversation_id "
        "FROM messages WHERE rowid > ? AND rowid <= ?",
        (watermark, top),
    )
    where = "WHERE m.rowid > ? AND m.rowid <= ?"
    if top <= LOW:  # fewer rows than low bits: no two keys can meet; one statement, in key order
        count = conn.execute(
            f"INSERT INTO messages_fts (rowid, body, message_rowid) {ROWS} {where} ORDER BY 1", (watermark, top)
        ).rowcount
    else:
        count = 0
        rows = conn.execute(f"{ROWS} {where} ORDER BY m.rowid", (watermark, top))
        while page := rows.fetchmany(PAGE):
            _add(conn, page)
            count += len(page)
    conn.execute("UPDATE search_state SET indexed_up_to = ?", (top,))
    return count


def rebuild(conn: sqlite3.Connection, on_progress: Callable[[int], None] | None = None) -> int:
    """Every message indexed again from nothing, in the caller's transaction (readers see the old index until it
    commits); how many, with `on_progress(indexed so far)` after each REBUILD_SLICE of rowids.

    A reprocess that rewrites most texts does this once instead of taking each rewritten message out of the
    index and in again: for 300,000 messages, 1.5 s against 4.7 s. The table is dropped and made again
    (deleting its 300,000 rows took 1.1 s, dropping it 0.1 s)."""
    conn.execute("DROP TABLE messages_fts")
    conn.execute(SQLITE_SEARCH_TABLE)
    conn.execute("DELETE FROM search_moved")
    conn.execute("UPDATE search_state SET indexed_up_to = 0")
    top = _bounds(conn)[1]
    indexed = 0
    for upto in range(REBUILD_SLICE, top + REBUILD_SLICE, REBUILD_SLICE):  # each slice moves the watermark on
        indexed += index_new(conn, upto)
        if on_progress is not None:
            on_progress(indexed)
    return indexed


def indexed_messages(conn: sqlite3.Connection, keys: Sequence[Sequence[Any]]) -> dict[int, tuple[Any, Any, int]]:
    """The indexed messages among these (owner_id, conversation_id, id): rowid -> (sent_at, text, key), as they
    are before the transaction writes over them. Nothing is indexed before a first import's first batch: no
    query."""
    watermark = conn.execute("SELECT indexed_up_to FROM search_state").fetchone()[0]
    if not watermark or not keys:
        return {}
    found = conn.execute(
        f"SELECT m.rowid, m.sent_at, m.content_text, {key_sql('m.sent_at', 'm.rowid')} FROM json_each(?) AS k "
        "JOIN messages AS m ON m.owner_id = k.value ->> 0 AND m.conversation_id = k.value ->> 1 "
        "AND m.id = k.value ->> 2 WHERE m.rowid <= ?",
        (json.dumps([list(k) for k in keys]), watermark),
    )
    return {rowid: (sent_at, text, key) for rowid, sent_at, text, key in found}


def index_changed(conn: sqlite3.Connection, before: dict[int, tuple[Any, Any, int]]) -> int:
    """Indexed messages whose text or time the transaction changed: out of the index under their old key, in
    under their new one; how many."""
    if not before:
        return 0
    rowids = list(before)
    changed: list[int] = []
    for part in _parts(rowids):
        for rowid, sent_at, text in conn.execute(
            f"SELECT rowid, sent_at, content_text FROM messages WHERE rowid IN ({_marks(part)})", part
        ):
            if (sent_at, text) != before[rowid][:2]:
                changed.append(rowid)
    if not changed:
        return 0
    moved = dict(
        row
        for part in _parts(changed)
        for row in conn.execute(
            f"SELECT message_rowid, search_rowid FROM search_moved WHERE message_rowid IN ({_marks(part)})", part
        )
    )
    conn.executemany(
        "DELETE FROM messages_fts WHERE rowid = ?", [(moved.get(rowid, before[rowid][2]),) for rowid in changed]
    )
    conn.executemany("DELETE FROM search_moved WHERE message_rowid = ?", [(rowid,) for rowid in moved])
    for part in _parts(changed):
        _add(conn, conn.execute(f"{ROWS} WHERE m.rowid IN ({_marks(part)})", part).fetchall())
    return len(changed)


def _parts(values: list[int], size: int = 900) -> list[list[int]]:
    return [values[start : start + size] for start in range(0, len(values), size)]


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


def _add(conn: sqlite3.Connection, entries: list[tuple[int, str, int]]) -> None:
    """(key, body, message rowid) into the index, each under a free key, in key order (FTS5 flushes what it holds
    whenever a key is lower than the one before)."""
    free = sorted(_free_keys(conn, entries))
    conn.executemany("INSERT INTO messages_fts (rowid, body, message_rowid) VALUES (?, ?, ?)", free)


def _free_keys(conn: sqlite3.Connection, entries: list[tuple[int, str, int]]) -> list[tuple[int, str, int]]:
    """The entries, each under a key no other row has: a taken one moves to the next free key of its
    millisecond (noted in search_moved)."""
    taken: set[int] = set()
    keys = [key for key, _, _ in entries]
    for part in _parts(keys):
        taken.update(
            key for (key,) in conn.execute(f"SELECT rowid FROM messages_fts WHERE rowid IN ({_marks(part)})", part)
        )
    free: list[tuple[int, str, int]] = []
    for key, body, rowid in entries:
        if key in taken:
            base, low = key & ~LOW, key & LOW
            while key in taken or conn.execute("SELECT 1 FROM messages_fts WHERE rowid = ?", (key,)).fetchone():
                low = (low + 1) & LOW
                key = base | low
            conn.execute(
                "INSERT OR REPLACE INTO search_moved (message_rowid, search_rowid) VALUES (?, ?)", (rowid, key)
            )
        taken.add(key)
        free.append((key, body, rowid))
    return free
