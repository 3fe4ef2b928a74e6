"""The tables, declared once as data; each database's DDL and every column list are made from them.

A logical type names what a column holds; the dialects say how their database
writes it (times are timestamptz in PostgreSQL and ISO text in SQLite; kept
structure is jsonb or JSON text).
"""

from __future__ import annotations

from dataclasses import dataclass

DIALECT_TYPES = {
    "sqlite": {
        "text": "TEXT",
        "real": "REAL",
        "int": "INTEGER",
        "bigint": "INTEGER",
        "time": "TEXT",
        "json": "TEXT",
        "blob": "BLOB",
        "serial": "INTEGER PRIMARY KEY AUTOINCREMENT",
    },
    "postgresql": {
        "text": "TEXT",
        "real": "DOUBLE PRECISION",
        "int": "INTEGER",
        "bigint": "BIGINT",
        "time": "TIMESTAMPTZ",
        "json": "JSONB",
        "blob": "BYTEA",
        "serial": "BIGSERIAL PRIMARY KEY",
    },
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # a key of DIALECT_TYPES' dialects
    not_null: bool = False
    default: str | None = None
    pg_storage: str | None = None  # PostgreSQL's STORAGE for the column (PLAIN: kept in the row, never TOASTed)

    def ddl(self, dialect: str) -> str:
        parts = [self.name, DIALECT_TYPES[dialect][self.type]]
        if self.not_null:
            parts.append("NOT NULL")
        if self.default is not None:
            parts.append(f"DEFAULT {self.default}")
        return " ".join(parts)


@dataclass(frozen=True)
class Index:
    name: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()  # empty when a serial column is the key
    indexes: tuple[Index, ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def create(self, dialect: str) -> list[str]:
        """CREATE TABLE and its indexes, each a no-op when it already exists."""
        lines = [c.ddl(dialect) for c in self.columns]
        if self.primary_key:
            lines.append(f"PRIMARY KEY ({', '.join(self.primary_key)})")
        statements = [f"CREATE TABLE IF NOT EXISTS {self.name} (\n    " + ",\n    ".join(lines) + "\n)"]
        if dialect == "postgresql":
            statements += [
                f"ALTER TABLE {self.name} ALTER COLUMN {c.name} SET STORAGE {c.pg_storage}"
                for c in self.columns
                if c.pg_storage
            ]
        statements += [
            f"CREATE INDEX IF NOT EXISTS {index.name} ON {self.name} ({', '.join(index.columns)})"
            for index in self.indexes
        ]
        return statements


# whose a row is: the export owner's id, or '' for a thread every member's export shares (schema 3)
OWNER = Column("owner_id", "text", not_null=True)


def _cols(*specs: tuple[str, str] | Column) -> tuple[Column, ...]:
    return tuple(s if isinstance(s, Column) else Column(*s) for s in specs)


CONVERSATIONS = Table(
    "conversations",
    _cols(
        ("id", "text"),
        ("display_name", "text"),
        ("kind", "text"),
        ("version", "real"),
        ("topic", "text"),
        ("member_count", "int"),
        ("properties", "json"),
        ("thread_properties", "json"),
        ("run_id", "text"),
        # schema 3
        OWNER,
    ),
    primary_key=("owner_id", "id"),
)
MESSAGES = Table(
    "messages",
    _cols(
        Column("conversation_id", "text", not_null=True),
        Column("id", "text", not_null=True),
        ("sender_id", "text"),
        ("sender_name", "text"),
        ("sent_at", "time"),
        ("message_type", "text"),
        ("content_raw", "text"),
        ("content_text", "text"),
        ("version", "real"),
        ("edited_at", "time"),
        ("deleted_at", "time"),
        ("properties", "json"),
        ("details", "json"),
        ("run_id", "text"),
        # schema 2
        ("sender_raw", "text"),
        ("amsreferences", "json"),
        ("reply_to", "text"),
        # schema 3
        OWNER,
    ),
    primary_key=("owner_id", "conversation_id", "id"),
    indexes=(
        Index("messages_by_time", ("owner_id", "conversation_id", "sent_at")),
        Index("messages_by_sender", ("sender_id", "sent_at")),
    ),
)
PARTICIPANTS = Table(
    "participants",
    _cols(
        Column("conversation_id", "text", not_null=True),
        Column("participant_id", "text", not_null=True),
        ("display_name", "text"),
        ("source", "text"),
        # schema 3
        OWNER,
    ),
    primary_key=("owner_id", "conversation_id", "participant_id"),
    indexes=(Index("participants_by_person", ("participant_id",)),),
)
ATTACHMENTS = Table(
    "attachments",
    _cols(
        Column("conversation_id", "text", not_null=True),
        Column("message_id", "text", not_null=True),
        Column("position", "int", not_null=True),
        ("file_name", "text"),
        ("file_size", "bigint"),
        ("uri", "text"),
        ("doc_id", "text"),
        ("media_type", "text"),
        ("message_version", "real"),
        # schema 3
        OWNER,
        # schema 4: the stored file (media_files), NULL when the export lacks it
        ("sha256", "text"),
    ),
    primary_key=("owner_id", "conversation_id", "message_id", "position"),
    indexes=(Index("attachments_by_doc", ("doc_id",)),),
)
REACTIONS = Table(
    "reactions",
    _cols(
        Column("conversation_id", "text", not_null=True),
        Column("message_id", "text", not_null=True),
        Column("emotion", "text", not_null=True),
        Column("user_id", "text", not_null=True),
        ("reacted_at", "time"),
        ("value", "text"),
        ("message_version", "real"),
        # schema 3
        OWNER,
    ),
    primary_key=("owner_id", "conversation_id", "message_id", "emotion", "user_id"),
    indexes=(Index("reactions_by_user", ("user_id",)),),
)
MENTIONS = Table(
    "mentions",
    _cols(
        Column("conversation_id", "text", not_null=True),
        Column("message_id", "text", not_null=True),
        Column("position", "int", not_null=True),
        Column("mentioned_id", "text", not_null=True),
        ("message_version", "real"),
        # schema 3
        OWNER,
    ),
    primary_key=("owner_id", "conversation_id", "message_id", "position"),
    indexes=(Index("mentions_by_person", ("mentioned_id",)),),
)
ETL_RUNS = Table(
    "etl_runs",
    _cols(
        ("id", "text"),
        ("export_path", "text"),
        ("export_fingerprint", "text"),
        ("export_size", "bigint"),
        ("export_user_id", "text"),
        ("export_date", "text"),
        ("database_url", "text"),
        Column("status", "text", not_null=True),
        ("started_at", "time"),
        ("finished_at", "time"),
        ("duration_s", "real"),
        Column("conversations", "int", default="0"),
        Column("messages", "bigint", default="0"),
        Column("messages_skipped", "bigint", default="0"),
        Column("errors", "bigint", default="0"),
        ("resumed_from", "text"),
        ("checkpoint", "json"),
        ("telemetry", "json"),
        ("error_message", "text"),
        # schema 2
        Column("kind", "text", default="'import'"),
        # schema 3: whose the export is, as stored (its userId, or one made from its fingerprint without one),
        # and who is running it: its process, that process's machine, and when it last wrote
        ("owner_id", "text"),
        ("pid", "int"),
        ("host", "text"),
        ("heartbeat_at", "time"),
    ),
    primary_key=("id",),
    indexes=(Index("etl_runs_by_fingerprint", ("export_fingerprint", "started_at")),),
)
ETL_ERRORS = Table(
    "etl_errors",
    _cols(
        ("id", "serial"),
        Column("run_id", "text", not_null=True),
        ("created_at", "time"),
        ("phase", "text"),
        ("severity", "text"),
        ("conversation_id", "text"),
        ("message_id", "text"),
        ("error_type", "text"),
        ("message", "text"),
        ("raw_snippet", "text"),
    ),
    indexes=(Index("etl_errors_by_run", ("run_id", "severity")),),
)
# what each run found of each conversation: the reconciliation (schema 3)
RUN_CONVERSATIONS = Table(
    "run_conversations",
    _cols(
        Column("run_id", "text", not_null=True),
        Column("owner_id", "text", not_null=True),
        Column("conversation_id", "text", not_null=True),  # '' for the conversations without an id
        Column("in_export", "bigint", not_null=True, default="0"),  # message records in the export
        Column("stored", "bigint", not_null=True, default="0"),  # new, updated, or already there and unchanged
        Column("skipped", "bigint", not_null=True, default="0"),  # each with its etl_errors row
    ),
    primary_key=("run_id", "owner_id", "conversation_id"),
)
# the export's media/ (schema 4): each file once per content, in chunks, whatever its size
MEDIA_FILES = Table(
    "media_files",
    _cols(
        Column("sha256", "text", not_null=True),  # lower-case hex of the bytes
        Column("size", "bigint", not_null=True),
        ("content_type", "text"),  # from the sidecar (media/<docid>.json), when there is one
        ("file_name", "text"),  # the sidecar's original name, else the member's
        Column("file_id", "bigint", not_null=True),  # its chunks' (media_chunks.file_id)
        ("run_id", "text"),  # the run that first stored it
        ("stored_at", "time"),
    ),
    primary_key=("sha256",),
)
MEDIA_CHUNKS = Table(
    "media_chunks",
    _cols(
        Column("file_id", "bigint", not_null=True),
        Column("seq", "int", not_null=True),
        # a file's bytes in order: 1 MiB a row in SQLite, 8,000 bytes (a heap page) in PostgreSQL; the last shorter
        Column("data", "blob", not_null=True, pg_storage="PLAIN"),
    ),
    primary_key=("file_id", "seq"),
)
MEDIA_DOCS = Table(  # a document id (as messages name files) and its file: linked whichever came first
    "media_docs",
    _cols(
        Column("doc_id", "text", not_null=True),
        ("sha256", "text"),
        ("file_name", "text"),
        ("content_type", "text"),
        ("run_id", "text"),
    ),
    primary_key=("doc_id",),
)
MEDIA_UPLOADS = Table(  # a file being stored: its chunks are not a file until media_files names them
    "media_uploads",
    _cols(Column("file_id", "bigint", not_null=True), Column("run_id", "text", not_null=True), ("started_at", "time")),
    primary_key=("file_id",),
)
TABLES = (
    CONVERSATIONS,
    MESSAGES,
    PARTICIPANTS,
    ATTACHMENTS,
    REACTIONS,
    MENTIONS,
    ETL_RUNS,
    ETL_ERRORS,
    RUN_CONVERSATIONS,
    MEDIA_FILES,
    MEDIA_CHUNKS,
    MEDIA_DOCS,
    MEDIA_UPLOADS,
)
# rows that hang off a message and follow its version
MESSAGE_CHILDREN = (ATTACHMENTS, REACTIONS, MENTIONS)
