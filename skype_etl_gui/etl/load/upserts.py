"""The merge rules, written once for both databases.

Highest `version` wins; on a tie the later entry, written only when it differs
(so a re-import changes nothing); a participant's name fills in once; an
attachment follows its message's version. `run_id` names the run that first
stored a row and is never overwritten.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

from ..records import REDERIVED_COLUMNS
from ..transform.rows import (
    ATTACHMENT_FIELDS,
    CONVERSATION_FIELDS,
    MENTION_FIELDS,
    MESSAGE_FIELDS,
    PARTICIPANT_FIELDS,
    REACTION_FIELDS,
)

# "a differs from b", NULLs compared as values: each dialect has its own words
Differs = Callable[[str, str], str]


def sqlite_differs(a: str, b: str) -> str:
    return f"{a} IS NOT {b}"


def postgres_differs(a: str, b: str) -> str:
    return f"{a} IS DISTINCT FROM {b}"


def _cols(columns: tuple[str, ...] | list[str]) -> str:
    return ", ".join(columns)


def _set(columns: Sequence[str]) -> str:
    return ", ".join(f"{c} = excluded.{c}" for c in columns)


def _any_changed(columns: list[str], alias: str, differs: Differs) -> str:
    return " OR ".join(differs(f"excluded.{c}", f"{alias}.{c}") for c in columns)


MESSAGE_KEY = ("owner_id", "conversation_id", "id")
CONVERSATION_KEY = ("owner_id", "id")
PARTICIPANT_KEY = ("owner_id", "conversation_id", "participant_id")
MESSAGE_UPDATE = [c for c in MESSAGE_FIELDS if c not in (*MESSAGE_KEY, "run_id")]
CONVERSATION_UPDATE = [c for c in CONVERSATION_FIELDS if c not in (*CONVERSATION_KEY, "run_id")]


def upsert_messages(source: str, differs: Differs, derived: tuple[str, ...] = ()) -> str:
    """`source`: the VALUES or SELECT clause that provides the rows; `derived`: columns it has after
    MESSAGE_FIELDS, made from them (PostgreSQL's `search`), set with the row but never compared."""
    return (
        f"INSERT INTO messages AS m ({_cols((*MESSAGE_FIELDS, *derived))}) {source} "
        f"ON CONFLICT ({_cols(MESSAGE_KEY)}) DO UPDATE SET {_set((*MESSAGE_UPDATE, *derived))} "
        "WHERE coalesce(excluded.version, -1) > coalesce(m.version, -1) "
        "OR (coalesce(excluded.version, -1) = coalesce(m.version, -1) "
        f"AND ({_any_changed(MESSAGE_UPDATE, 'm', differs)}))"
    )


# the rows that hang off a message: their fields, and their key (the owner's, then the message's, then their own)
CHILDREN = {
    "attachments": (ATTACHMENT_FIELDS, ("owner_id", "conversation_id", "message_id", "position")),
    "reactions": (REACTION_FIELDS, ("owner_id", "conversation_id", "message_id", "emotion", "user_id")),
    "mentions": (MENTION_FIELDS, ("owner_id", "conversation_id", "message_id", "position")),
}


def child_key(table: str) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
    """A child row's key, from the row (its fields in CHILDREN's order)."""
    fields, key = CHILDREN[table]
    return operator.itemgetter(*(fields.index(column) for column in key))


def upsert_child(table: str, source: str) -> str:
    """A message's attachment, reaction or mention: it follows its message's version."""
    fields, key = CHILDREN[table]
    return (
        f"INSERT INTO {table} AS a ({_cols(fields)}) {source} "
        f"ON CONFLICT ({_cols(key)}) DO UPDATE SET {_set([f for f in fields if f not in key])} "
        "WHERE coalesce(excluded.message_version, -1) >= coalesce(a.message_version, -1)"
    )


def upsert_participants(source: str) -> str:
    return (
        f"INSERT INTO participants AS p ({_cols(PARTICIPANT_FIELDS)}) {source} "
        f"ON CONFLICT ({_cols(PARTICIPANT_KEY)}) DO UPDATE SET display_name = excluded.display_name "
        "WHERE p.display_name IS NULL AND excluded.display_name IS NOT NULL"
    )


def upsert_conversations(source: str, differs: Differs) -> str:
    return (
        f"INSERT INTO conversations AS c ({_cols(CONVERSATION_FIELDS)}) {source} "
        f"ON CONFLICT ({_cols(CONVERSATION_KEY)}) DO UPDATE SET {_set(CONVERSATION_UPDATE)} "
        f"WHERE {_any_changed(CONVERSATION_UPDATE, 'c', differs)}"
    )


def add_tally(source: str) -> str:
    """A batch's counts of each conversation, added to what its run counted before (the reconciliation)."""
    return (
        "INSERT INTO run_conversations AS t (run_id, owner_id, conversation_id, in_export, stored, skipped) "
        f"{source} ON CONFLICT (run_id, owner_id, conversation_id) DO UPDATE SET "
        "in_export = t.in_export + excluded.in_export, stored = t.stored + excluded.stored, "
        "skipped = t.skipped + excluded.skipped"
    )


def carry_tally(mark: str) -> str:
    """A resumed run starts with the counts of the run it continues (what that one committed)."""
    return (
        "INSERT INTO run_conversations (run_id, owner_id, conversation_id, in_export, stored, skipped) "
        f"SELECT {mark}, owner_id, conversation_id, in_export, stored, skipped FROM run_conversations "
        f"WHERE run_id = {mark}"
    )


def insert_errors(source: str) -> str:
    return (
        "INSERT INTO etl_errors (run_id, created_at, phase, severity, conversation_id, message_id, error_type, "
        f"message, raw_snippet) {source}"
    )


def placeholders(columns: tuple[str, ...] | int) -> str:
    """VALUES (?, ?, ...) for SQLite's executemany."""
    count = columns if isinstance(columns, int) else len(columns)
    return f"VALUES ({', '.join('?' for _ in range(count))})"


# --- what a reprocess rewrites ---------------------------------------------------------------------
def update_messages(mark: str) -> str:
    """The re-derived columns of one message (REDERIVED_COLUMNS, then its key)."""
    assignments = ", ".join(f"{column} = {mark}" for column in REDERIVED_COLUMNS)
    return f"UPDATE messages SET {assignments} WHERE {_key_is(MESSAGE_KEY, mark)}"


def _key_is(key: tuple[str, ...], mark: str) -> str:
    return " AND ".join(f"{column} = {mark}" for column in key)


def update_messages_from(table: str, derived: tuple[str, ...] = ()) -> str:
    """The re-derived columns of many messages in one statement, from a table holding them with their keys
    (PostgreSQL's `stage_messages`, filled by COPY); `derived`: columns made from the others (`search`)."""
    assignments = ", ".join(f"{c} = v.{c}" for c in (*REDERIVED_COLUMNS, *derived))
    return (
        f"UPDATE messages AS m SET {assignments} FROM {table} AS v "
        "WHERE m.owner_id = v.owner_id AND m.conversation_id = v.conversation_id AND m.id = v.id"
    )


CHILD_OF = ("owner_id", "conversation_id", "message_id")  # which message a child row hangs off


def delete_children_from_values(table: str) -> str:
    """The rows of many messages in one statement (`VALUES %s` of (owner_id, conversation_id, message_id))."""
    return (
        f"DELETE FROM {table} AS t USING (VALUES %s) AS v({_cols(CHILD_OF)}) "
        "WHERE t.owner_id = v.owner_id AND t.conversation_id = v.conversation_id AND t.message_id = v.message_id"
    )


def delete_children(table: str, mark: str) -> str:
    return f"DELETE FROM {table} WHERE {_key_is(CHILD_OF, mark)}"


def delete_participant(mark: str) -> str:
    return f"DELETE FROM participants WHERE {_key_is(PARTICIPANT_KEY, mark)}"


def name_participant(mark: str) -> str:
    """A participant's name and source (member or sender) as a fresh import makes them."""
    return f"UPDATE participants SET display_name = {mark}, source = {mark} WHERE {_key_is(PARTICIPANT_KEY, mark)}"


def link_replies(quoted: str, differs: Differs) -> list[str]:
    """`reply_to` from the quote's message id (`quoted`: that id in the dialect's JSON words), where it is stored;
    NULL where there is no quote or it names no stored message."""
    stored = (
        "EXISTS (SELECT 1 FROM messages AS o WHERE o.owner_id = messages.owner_id "
        f"AND o.conversation_id = messages.conversation_id AND o.id = {quoted})"
    )
    linked = f"(CASE WHEN {stored} THEN {quoted} END)"
    # one pass over the messages, not one to clear and one to set: PostgreSQL 0.34 s to 0.10 s over 300k
    return [
        f"UPDATE messages SET reply_to = {linked} WHERE (reply_to IS NOT NULL OR (details IS NOT NULL AND "
        f"{quoted} IS NOT NULL)) AND {differs('reply_to', linked)}"
    ]


def prune_children(table: str) -> str:
    """A child row of a version its message no longer has: the import of a newer (or an older) version left it."""
    # its message's version looked up by key, a child row at a time: as EXISTS, PostgreSQL hashed the child table
    # and read every message (0.55 s of 300k for three tables; their rows are a few thousand)
    return (
        f"DELETE FROM {table} WHERE coalesce({table}.message_version, -1) <> (SELECT coalesce(m.version, -1) "
        f"FROM messages AS m WHERE m.owner_id = {table}.owner_id AND m.conversation_id = {table}.conversation_id "
        f"AND m.id = {table}.message_id)"
    )
