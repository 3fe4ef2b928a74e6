"""The versioned schema: tables declared as data (tables.py), and the steps from each version to the next.

A new database is made at the newest version directly from the table specs; an
older one takes the steps it has not seen yet, in order. Each step is a
function of the dialect, so one declaration serves SQLite and PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from ...fold import INDEXED_CHARS, MARK_RANGES
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
    MEDIA_CHUNKS,
    MEDIA_DOCS,
    MEDIA_FILES,
    MEDIA_UPLOADS,
    MENTIONS,
    MESSAGES,
    PARTICIPANTS,
    REACTIONS,
    RUN_CONVERSATIONS,
    TABLES,
    Table,
)

SCHEMA_VERSION = 5


@dataclass(frozen=True)
class Step:
    """One transaction of a migration: a new database is one, a version may be several (one a table), so that a
    long migration shows progress and, stopped, continues with the step it was in."""

    version: int  # the schema version this step is part of
    name: str  # what it migrates, as progress shows it
    statements: list[str]
    done: str | None = None  # a query whose first value is not zero once the step is in: it is then not run again
    last: bool = False  # the version's last step: the version is recorded with it


def _column_ddl(table: Table, name: str, dialect: str) -> str:
    return next(c for c in table.columns if c.name == name).ddl(dialect)


def _add_columns(table: Table, names: tuple[str, ...], dialect: str) -> list[str]:
    return [f"ALTER TABLE {table.name} ADD COLUMN {_column_ddl(table, name, dialect)}" for name in names]


def _to_2(dialect: str) -> list[str]:
    """Schema 2: the export's `from` verbatim beside the sender, amsreferences, replies, reactions, mentions.

    Until `skype-etl reprocess` re-reads them, older messages keep their sender as it was (now also in
    sender_raw) and have no reactions, mentions or reply_to.
    """
    return [
        *_copied_column("messages", _column_ddl(MESSAGES, "sender_raw", dialect), "sender_id", dialect),
        *_add_columns(MESSAGES, ("amsreferences", "reply_to"), dialect),
        *_add_columns(ETL_RUNS, ("kind",), dialect),
        *REACTIONS.create(dialect),
        *MENTIONS.create(dialect),
    ]


def _copied_column(table: str, column_ddl: str, value: str, dialect: str, if_missing: str = "") -> list[str]:
    """A new column (its name and type, `column_ddl`) holding `value` (an expression of the row) in every row.

    PostgreSQL makes the table again with the column computed (a generated column, then a plain one): an UPDATE
    of every row leaves a dead copy of each and adds to every index, and took 1.7x as long (300k messages, the
    search index: 15.7 s against 9.0 s). SQLite updates in place."""
    column = column_ddl.split()[0]
    if dialect == "postgresql":
        return [
            f"ALTER TABLE {table} ADD COLUMN {if_missing}{column_ddl} GENERATED ALWAYS AS ({value}) STORED",
            f"ALTER TABLE {table} ALTER COLUMN {column} DROP EXPRESSION IF EXISTS",
        ]
    return [f"ALTER TABLE {table} ADD COLUMN {column_ddl}", f"UPDATE {table} SET {column} = {value}"]


# the table rows of schema 3 take their owner from; each keeps its own columns, owner_id comes last
OWNED = (CONVERSATIONS, MESSAGES, PARTICIPANTS, ATTACHMENTS, REACTIONS, MENTIONS)
_NOW = {"sqlite": "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')", "postgresql": "now()"}
_POSITION = {"sqlite": "instr", "postgresql": "strpos"}


AFTER_3 = {"attachments": ("sha256",)}  # the columns schema 4 adds to a table schema 3 made again


def _run_owner(run_column: str, dialect: str) -> str:
    """A run's owner as an import of this version gives it: its userId, or one made from its fingerprint."""
    position = _POSITION[dialect]
    return (
        "(SELECT coalesce(r.export_user_id, 'export:' || substr(r.export_fingerprint, "
        f"{position}(r.export_fingerprint, ':') + 1, 16)) FROM etl_runs AS r WHERE r.id = {run_column})"
    )


def _owner(table: Table, dialect: str) -> str:
    """Whose an existing row is: '' in a thread; else the owner of its conversation's first import."""
    if table is CONVERSATIONS:
        first_import = _run_owner("conversations.run_id", dialect)
        return f"CASE WHEN substr(id, 1, 3) = '19:' THEN '' ELSE coalesce({first_import}, '') END"
    conversation = f"(SELECT c.owner_id FROM conversations AS c WHERE c.id = {table.name}.conversation_id)"
    fallback = f", {_run_owner(table.name + '.run_id', dialect)}" if "run_id" in table.column_names else ""
    return f"CASE WHEN substr(conversation_id, 1, 3) = '19:' THEN '' ELSE coalesce({conversation}{fallback}, '') END"


def _conversation(table: Table) -> str:
    return "id" if table.name == CONVERSATIONS.name else "conversation_id"


def _has_owner(table: Table, dialect: str) -> str:
    if dialect == "sqlite":
        return f"SELECT count(*) FROM pragma_table_info('{table.name}') WHERE name = 'owner_id'"
    return (
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() "
        f"AND table_name = '{table.name}' AND column_name = 'owner_id'"
    )


def _owned(table: Table, dialect: str) -> list[str]:
    """A table of schema 2 with its owners, in one transaction. SQLite cannot change a key: the table is made
    again and its rows copied; PostgreSQL adds the column and changes the key in place."""
    owner = _owner(table, dialect)
    later = AFTER_3.get(table.name, ())  # columns a later version adds: not there yet
    table = dataclasses.replace(table, columns=tuple(c for c in table.columns if c.name not in later))
    if dialect == "sqlite":
        old = [c for c in table.column_names if c != "owner_id"]
        new = dataclasses.replace(table, name=f"{table.name}_3", indexes=())
        statements = [
            f"DROP TABLE IF EXISTS {new.name}",
            *new.create(dialect),
            f"INSERT INTO {new.name} ({', '.join(old)}, owner_id) SELECT {', '.join(old)}, {owner} FROM {table.name}",
            f"DROP TABLE {table.name}",
            f"ALTER TABLE {new.name} RENAME TO {table.name}",
        ]
        return statements + table.create(dialect)[1:]
    # the key and the indexes go first: made again once the owners are in, not kept up to date row by row (the
    # UPDATE of 300k messages took 3.0 s with them)
    statements = [
        f"ALTER TABLE {table.name} ADD COLUMN owner_id TEXT NOT NULL DEFAULT ''",
        f"ALTER TABLE {table.name} DROP CONSTRAINT {table.name}_pkey",
        *(f"DROP INDEX IF EXISTS {index.name}" for index in table.indexes),
        f"UPDATE {table.name} SET owner_id = {owner} WHERE substr({_conversation(table)}, 1, 3) <> '19:'",
        f"ALTER TABLE {table.name} ALTER COLUMN owner_id DROP DEFAULT",
        f"ALTER TABLE {table.name} ADD PRIMARY KEY ({', '.join(table.primary_key)})",
    ]
    return statements + table.create(dialect)[1:]


def _to_3(dialect: str) -> list[Step]:
    """Schema 3: owners (several exports in one archive), the runs' processes, the reconciliation.

    One transaction a table, each skipped once done (a stopped migration continues). Where an earlier version
    mixed two owners' one-to-one chats into one conversation, its rows are kept, all under the first import's
    owner, with one warning row a conversation (of a run of its own, kind 'migrate')."""
    steps = [
        Step(
            3,
            "etl_runs",
            [
                *_add_columns(ETL_RUNS, ("owner_id", "pid", "host", "heartbeat_at"), dialect),
                *RUN_CONVERSATIONS.create(dialect),
            ],
            done=_has_owner(ETL_RUNS, dialect),
        )
    ]
    for table in OWNED:
        statements = _owned(table, dialect)
        if table is CONVERSATIONS:  # the other tables find their conversation by its id while they migrate
            statements.append("CREATE INDEX IF NOT EXISTS migrating_conversations ON conversations (id)")
        steps.append(Step(3, table.name, statements, done=_has_owner(table, dialect)))
    run_id = "migrate-3-" + uuid.uuid4().hex[:12]
    now = _NOW[dialect]
    owners = "coalesce(r.export_user_id, '')"
    steps.append(
        Step(
            3,
            "owners",
            [
                "DROP INDEX IF EXISTS migrating_conversations",
                f"UPDATE etl_runs SET owner_id = {_run_owner('etl_runs.id', dialect)} WHERE owner_id IS NULL "
                "AND coalesce(kind, 'import') = 'import'",
                "INSERT INTO etl_runs (id, kind, status, started_at, finished_at, conversations, messages) "
                f"VALUES ('{run_id}', 'migrate', 'completed', {now}, {now}, 0, 0)",
                "INSERT INTO etl_errors (run_id, created_at, phase, severity, conversation_id, error_type, message) "
                f"SELECT '{run_id}', {now}, 'migrate', 'warning', c.id, 'MixedOwners', "
                "'the exports of ' || count(DISTINCT " + owners + ") || ' accounts were mixed in this one-to-one "
                "chat by an earlier version; all its rows are kept, under ' || c.owner_id || ' (whose export was "
                "imported first)' "
                "FROM conversations AS c JOIN messages AS m ON m.owner_id = c.owner_id AND m.conversation_id = c.id "
                "JOIN etl_runs AS r ON r.id = m.run_id WHERE c.owner_id <> '' "
                f"GROUP BY c.owner_id, c.id HAVING count(DISTINCT {owners}) > 1",
                f"UPDATE etl_runs SET errors = (SELECT count(*) FROM etl_errors WHERE run_id = '{run_id}') "
                f"WHERE id = '{run_id}'",
            ],
            last=True,
        )
    )
    return steps


def _to_4(dialect: str) -> list[str]:
    """Schema 4: the export's media files, in chunks, and each attachment's file."""
    return [
        *_add_columns(ATTACHMENTS, ("sha256",), dialect),
        *ATTACHMENTS.create(dialect)[1:],
        *MEDIA_FILES.create(dialect),
        *MEDIA_CHUNKS.create(dialect),
        *MEDIA_DOCS.create(dialect),
        *MEDIA_UPLOADS.create(dialect),
    ]


# each message's folded words and its rowid, under a key that orders by time (load/search_index.py); no column
# sizes (only bm25 ranking reads them, and hits come newest first): 17 % less to write
SQLITE_SEARCH_TABLE = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5("
    "body, message_rowid UNINDEXED, tokenize='unicode61 remove_diacritics 0', columnsize=0)"
)


def search_index(dialect: str) -> list[str]:
    """Schema 5: a full-text index of messages' readable text, folded as skype_etl_gui.archive.query.fold does
    (case and every combining mark gone, letters and digits the words), kept current as messages change.

    - SQLite: an FTS5 table (`messages_fts`) of each message's folded words under a time-ordered key, which
      the loader keeps in Python (load/search_index.py).
    - PostgreSQL: a tsvector column that the loader writes with each message (fold.tsvector), and a GIN index.
      `skype_search(text)` does the same folding in SQL (NFKD, the marks removed, ICU's lower case when the
      server has ICU, letters and digits): it indexes the messages already stored, and any another tool adds.
    """
    if dialect == "sqlite":
        return [
            SQLITE_SEARCH_TABLE,
            # the messages up to this rowid are indexed (a new message gets a rowid above every other)
            "CREATE TABLE IF NOT EXISTS search_state (indexed_up_to INTEGER NOT NULL)",
            "INSERT INTO search_state (indexed_up_to) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM search_state)",
            # a message whose time key another message of the same millisecond had (rare): the key it took
            "CREATE TABLE IF NOT EXISTS search_moved (message_rowid INTEGER PRIMARY KEY, search_rowid INTEGER)",
            # each conversation's number, which the index holds as a word of its messages (in: is a match)
            "CREATE TABLE IF NOT EXISTS search_scopes (scope INTEGER PRIMARY KEY, owner_id TEXT NOT NULL, "
            "conversation_id TEXT NOT NULL, UNIQUE (owner_id, conversation_id))",
        ]
    marks = "".join(f"{chr(a)}-{chr(b)}" if a != b else chr(a) for a, b in MARK_RANGES)
    # ASCII text (a byte a character: most of it) needs neither NFKD, nor the marks, nor ICU: half the time
    body = (
        "SELECT to_tsvector('simple'::regconfig, CASE WHEN octet_length(x) = char_length(x) "
        "THEN regexp_replace(lower(x), '[^a-z0-9]+', ' ', 'g') "
        f"ELSE regexp_replace(lower(regexp_replace(normalize(x, NFKD), '[{marks}]+', '', 'g') COLLATE %s), "
        "'[^[:alnum:]]+', ' ', 'g') COLLATE \"default\" END) "
        f"FROM (SELECT left(coalesce(t, ''), {INDEXED_CHARS}) AS x) AS s"
    )
    function = (
        "CREATE OR REPLACE FUNCTION skype_search(t text) RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS "
    )
    return [
        # ICU's lower case and letters (any server locale, C included) where the server has ICU, else its own
        "DO $do$ BEGIN EXECUTE format("
        + _pg_literal(function + "%L")
        + ", format("
        + _pg_literal(body)
        + ", CASE WHEN EXISTS (SELECT 1 FROM pg_collation WHERE collname = 'und-x-icu') "
        "THEN '\"und-x-icu\"' ELSE '\"default\"' END)); END $do$",
        # written with each message (fold.tsvector, made in the import's worker: 1.3x the import, where the
        # server's skype_search() in a generated column cost 1.6x); the messages already stored get theirs as
        # the column is made, and skype_search() fills any left NULL (a column made by an earlier version)
        *_copied_column("messages", "search tsvector", "skype_search(content_text)", dialect, "IF NOT EXISTS "),
        FILL_SEARCH,
        "CREATE INDEX IF NOT EXISTS messages_search ON messages USING gin (search)",
        # messages another tool wrote (without `search`): found at once by the next import (ensure_schema)
        "CREATE INDEX IF NOT EXISTS messages_unsearched ON messages (owner_id) WHERE search IS NULL",
        # newest first: a common word's first page walks this backwards (5 ms, where GIN then a sort of every
        # match took 100 ms on 300k messages); a rare word's takes the GIN index
        "CREATE INDEX IF NOT EXISTS messages_by_sent ON messages (sent_at)",
    ]


FILL_SEARCH = "UPDATE messages SET search = skype_search(content_text) WHERE search IS NULL"


def _pg_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _to_5(dialect: str) -> list[Step]:
    """Schema 5: the search index, made from every message already stored (one transaction)."""
    # SQLite's messages are indexed by the loader once the step is in (load/search_index.index_new)
    return [Step(5, "search index", search_index(dialect), last=True)]


# version reached -> its steps in a dialect (a list of statements is one step)
MIGRATIONS: dict[int, Callable[[str], list[str] | list[Step]]] = {2: _to_2, 3: _to_3, 4: _to_4, 5: _to_5}

RUN_FIELDS = ETL_RUNS.column_names
ERROR_FIELDS = ETL_ERRORS.column_names
COUNTED_TABLES = tuple(t.name for t in TABLES)


def create_statements(dialect: str) -> list[str]:
    """Every table and index of the newest version."""
    return [*(statement for table in TABLES for statement in table.create(dialect)), *search_index(dialect)]


def upgrade_steps(dialect: str, current: int) -> list[Step]:
    """The steps from `current` to SCHEMA_VERSION, in order; a new database is one step."""
    if current == 0:
        return [Step(SCHEMA_VERSION, "tables", create_statements(dialect), last=True)]
    steps: list[Step] = []
    for version in range(current + 1, SCHEMA_VERSION + 1):
        made = MIGRATIONS[version](dialect)
        if made and isinstance(made[0], Step):
            steps += [s for s in made if isinstance(s, Step)]
        else:
            steps.append(Step(version, f"schema {version}", [s for s in made if isinstance(s, str)], last=True))
    return steps


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
