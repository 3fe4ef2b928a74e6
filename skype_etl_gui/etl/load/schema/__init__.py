"""The versioned schema: tables declared as data (tables.py), and the steps from each version to the next.

A new database is made at the newest version directly from the table specs; an
older one takes the steps it has not seen yet, in order. Each step is a
function of the dialect, so one declaration serves SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable

from ...transform.rows import (
    ATTACHMENT_FIELDS,
    CONVERSATION_FIELDS,
    MENTION_FIELDS,
    MESSAGE_FIELDS,
    PARTICIPANT_FIELDS,
    REACTION_FIELDS,
)
from .tables import (
    ATTACHMENTS,
    CONVERSATIONS,
    ETL_ERRORS,
    ETL_RUNS,
    MENTIONS,
    MESSAGES,
    PARTICIPANTS,
    REACTIONS,
    TABLES,
    Table,
)

SCHEMA_VERSION = 2


def _add_columns(table: Table, names: tuple[str, ...], dialect: str) -> list[str]:
    by_name = {c.name: c for c in table.columns}
    return [f"ALTER TABLE {table.name} ADD COLUMN {by_name[name].ddl(dialect)}" for name in names]


def _to_2(dialect: str) -> list[str]:
    """Schema 2: the export's `from` verbatim beside the sender, amsreferences, replies, reactions, mentions.

    Until `skype-etl reprocess` re-reads them, older messages keep their sender as it was (now also in
    sender_raw) and have no reactions, mentions or reply_to.
    """
    return [
        *_add_columns(MESSAGES, ("sender_raw", "amsreferences", "reply_to"), dialect),
        "UPDATE messages SET sender_raw = sender_id",
        *_add_columns(ETL_RUNS, ("kind",), dialect),
        *REACTIONS.create(dialect),
        *MENTIONS.create(dialect),
    ]


# version reached -> its statements in a dialect
MIGRATIONS: dict[int, Callable[[str], list[str]]] = {2: _to_2}

RUN_FIELDS = ETL_RUNS.column_names
ERROR_FIELDS = ETL_ERRORS.column_names
COUNTED_TABLES = tuple(t.name for t in TABLES)


def create_statements(dialect: str) -> list[str]:
    """Every table and index of the newest version."""
    return [statement for table in TABLES for statement in table.create(dialect)]


def upgrade_steps(dialect: str, current: int) -> list[tuple[int, list[str]]]:
    """(version reached, its statements) from `current` to SCHEMA_VERSION; a new database in one step."""
    if current == 0:
        return [(SCHEMA_VERSION, create_statements(dialect))]
    return [(version, MIGRATIONS[version](dialect)) for version in range(current + 1, SCHEMA_VERSION + 1)]


def _check_rows_fit(table: Table, fields: tuple[str, ...]) -> None:
    missing = [f for f in fields if f not in table.column_names]
    if missing:
        raise AssertionError(f"the transform makes {table.name} fields the schema lacks: {missing}")


for _table, _fields in (
    (MESSAGES, MESSAGE_FIELDS),
    (ATTACHMENTS, ATTACHMENT_FIELDS),
    (PARTICIPANTS, PARTICIPANT_FIELDS),
    (CONVERSATIONS, CONVERSATION_FIELDS),
    (REACTIONS, REACTION_FIELDS),
    (MENTIONS, MENTION_FIELDS),
):
    _check_rows_fit(_table, _fields)
