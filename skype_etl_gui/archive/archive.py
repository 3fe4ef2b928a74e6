"""The archive, read: conversations, a conversation's messages a page at a time, and full-text search.

Read-only and Qt-free, the same on SQLite and PostgreSQL. Pages are keyset
pages in time order (`(sent_at, id)` from a message on), never OFFSET over a
conversation, so the millionth message costs what the first does. Search uses
the index schema 5 made (SQLite FTS5, PostgreSQL tsvector + GIN) through one
bound parameter built by `query.parse`; an archive of an earlier version has no
index until `upgrade()` (which writes) has run once.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from ..etl.errors import DatabaseError
from ..etl.fold import fold
from ..etl.load import open_existing, open_for_reading
from ..etl.load.base import Loader
from ..etl.load.schema import SCHEMA_VERSION
from ..etl.load.search_index import SCOPE, key_range
from ..etl.run.media import save_media
from ..etl.transform.derive import CALL_LOGS, conversation_kind
from .query import Query, QueryError, parse, snippet

MESSAGE_COLUMNS = (
    "owner_id",
    "conversation_id",
    "id",
    "sent_at",
    "sender_id",
    "sender_name",
    "message_type",
    "content_text",
    "edited_at",
    "deleted_at",
    "reply_to",
)
_SELECT_MESSAGES = "SELECT " + ", ".join(f"m.{c}" for c in MESSAGE_COLUMNS) + " FROM messages AS m"
NAMES_A_QUERY = 500
SPECIAL_NAMES = {CALL_LOGS: "Call log"}  # conversations Skype makes itself, which exports leave unnamed


def conversation_label(conversation: dict[str, Any]) -> str:
    """A conversation's name as a person reads it: its own, else (a one-to-one chat, which exports often leave
    unnamed) the name the archive knows for the person it is with (`known_name`), else what Skype's own
    conversations are (48:calllogs: "Call log"), else its id."""
    conv = str(conversation.get("id") or "")
    return _listed_name(conversation.get("display_name"), conversation.get("known_name"), conv) or conv


def _listed_name(own: str | None, known: str | None, conversation_id: str) -> str | None:
    """A conversation's name as the browser lists it, when it has one: its own, the other person's, Skype's."""
    return own or known or SPECIAL_NAMES.get(conversation_id)


def _partner_named(own: str | None, kind: str | None, conversation_id: str) -> bool:
    """Whether a conversation is named by the person it is with: an unnamed one-to-one chat (whose id is theirs)."""
    return not own and (kind or conversation_kind(conversation_id)) == "one_to_one"


def sender_label(message: dict[str, Any]) -> str:
    """Who sent a message, as a person reads it: the name it carried, else the name the archive knows for its
    sender (`known_name`, see Archive.page and search), else the sender's id."""
    return str(message.get("sender_name") or message.get("known_name") or message.get("sender_id") or "")


class ArchiveError(DatabaseError):
    """The archive cannot be read as asked: one message, for a person."""


class ArchiveOutdated(ArchiveError):
    """An archive made by an earlier version: `upgrade()` brings it up to date (it writes)."""


def open_archive(database: str | dict[str, Any], on_migrate: Callable[[str, int, int], None] | None = None) -> Archive:
    """The archive, open for reading; one made by an earlier version is brought up to date first (its search
    index built once, `on_migrate` told each step), which needs a role that may write."""
    archive = Archive(database)
    try:
        archive.open()
    except ArchiveOutdated:
        upgrade(database, on_migrate)
        archive.open()
    return archive


def upgrade(database_url: str | dict[str, Any], on_migrate: Callable[[str, int, int], None] | None = None) -> int:
    """Bring an archive of an earlier version to this one (its search index built once), with a call per step;
    the schema version. It writes: run it off the GUI thread, with a role that may write."""
    loader = open_existing(database_url)
    try:
        loader.on_migrate = on_migrate
        return loader.ensure_schema()
    finally:
        loader.close()


class Archive:
    """`with Archive(url) as archive:` reads one archive; it never writes."""

    def __init__(self, database_url: str | dict[str, Any]) -> None:
        """`database_url`: a URL, or the window's connection settings (a dict)."""
        self.database_url = database_url
        self._loader: Loader | None = None
        self.schema = 0
        self._names: dict[str, str] = {}  # a sender's name as the archive knows it

    def __enter__(self) -> Archive:
        self.open()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def open(self) -> None:
        loader = open_for_reading(self.database_url, missing_ok=False)
        assert loader is not None
        self._loader = loader
        self.schema = loader.check_schema()
        self.dialect = loader.target.kind
        if self.schema < SCHEMA_VERSION:
            self.close()
            raise ArchiveOutdated(
                f"{loader.display_url}: this archive was made by an earlier version (schema {self.schema}); it is "
                "brought up to date, and its search index built, once by a role that may write: the window does "
                "it when it opens the archive, or run: skype-etl search WORD"
            )

    def close(self) -> None:
        if self._loader is not None:
            self._loader.close()
            self._loader = None

    @property
    def loader(self) -> Loader:
        if self._loader is None:
            raise ArchiveError("the archive is not open")
        return self._loader

    def _rows(self, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self.loader.select(self._marks(sql), params)

    def _marks(self, sql: str) -> str:
        return sql.replace("?", self.loader.mark)

    # --- conversations ------------------------------------------------------------------------------
    def conversations(self) -> list[dict[str, Any]]:
        """Every conversation: owner_id, id, display_name, kind, messages, last_sent_at; the latest first."""
        rows = self._rows(
            "SELECT c.owner_id, c.id, c.display_name, c.kind, count(m.id), max(m.sent_at) "
            "FROM conversations AS c LEFT JOIN messages AS m ON m.owner_id = c.owner_id AND m.conversation_id = c.id "
            "GROUP BY c.owner_id, c.id, c.display_name, c.kind"
        )
        found = [
            {
                "owner_id": owner,
                "id": conv,
                "display_name": name,
                "kind": kind or conversation_kind(conv),  # as the transform names it (an earlier version's: none)
                "messages": count,
                "last_sent_at": last,
            }
            for owner, conv, name, kind, count, last in rows
        ]
        found.sort(key=lambda c: (c["last_sent_at"] or "", c["id"]), reverse=True)
        names = self._known_names([c["id"] for c in found if _partner_named(c["display_name"], c["kind"], c["id"])])
        for conversation in found:
            conversation["known_name"] = None if conversation["display_name"] else names.get(conversation["id"])
        return found

    # --- messages -----------------------------------------------------------------------------------
    def messages(
        self, owner_id: str, conversation_id: str, *, around: str | None = None, before: int = 50, after: int = 50
    ) -> list[dict[str, Any]]:
        """Messages of one conversation in time order: up to `before` before the message `around` and `after`
        after it (it included), or, without `around`, the newest `before`. Keyset pages by (sent_at, id)."""
        if around is None:
            return self.page(owner_id, conversation_id, older_than=None, limit=before)
        anchor = self._rows(
            "SELECT sent_at, id FROM messages WHERE owner_id = ? AND conversation_id = ? AND id = ?",
            (owner_id, conversation_id, around),
        )
        if not anchor:
            raise ArchiveError(f"{conversation_id}: no message {around} in this conversation")
        key = (anchor[0][0], anchor[0][1])
        older = self.page(owner_id, conversation_id, older_than=key, limit=before)
        newer = self.page(owner_id, conversation_id, newer_than=key, limit=after, including=True)
        return older + newer

    def page(
        self,
        owner_id: str,
        conversation_id: str,
        *,
        older_than: tuple[Any, str] | None = None,
        newer_than: tuple[Any, str] | None = None,
        limit: int = 50,
        including: bool = False,
    ) -> list[dict[str, Any]]:
        """One keyset page in time order: the `limit` messages just before `older_than` (or the newest), or
        just after `newer_than` (`including` it). A key is a message's (sent_at, id)."""
        where, params = "m.owner_id = ? AND m.conversation_id = ?", [owner_id, conversation_id]
        time = self._time()
        if newer_than is not None:
            op = ">=" if including else ">"
            where += f" AND (m.sent_at > {time} OR (m.sent_at = {time} AND m.id {op} ?))"
            params += [newer_than[0], newer_than[0], newer_than[1]]
            order = "ASC"
        else:
            if older_than is not None:
                where += f" AND (m.sent_at < {time} OR (m.sent_at = {time} AND m.id < ?))"
                params += [older_than[0], older_than[0], older_than[1]]
            order = "DESC"
        rows = self._rows(
            f"{_SELECT_MESSAGES} WHERE {where} ORDER BY m.sent_at {order}, m.id {order} LIMIT ?", [*params, limit]
        )
        if order == "DESC":
            rows.reverse()
        return self._with_parts(self._with_names([dict(zip(MESSAGE_COLUMNS, row, strict=True)) for row in rows]))

    def _with_names(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each message with `known_name`: where it carried no name of its sender (many exports leave
        `displayName` out), the name a participant of that id has in the archive (the least, so always the
        same), or None. Read for the ids not seen before, by the participants' index on the person."""
        names = self._known_names([m["sender_id"] for m in messages if m["sender_id"] and not m["sender_name"]])
        for message in messages:
            message["known_name"] = None if message["sender_name"] else names.get(message["sender_id"])
        return messages

    def _known_names(self, people: list[str]) -> dict[str, str | None]:
        """The name a participant of each id has in the archive (the least, so always the same), or None. Names found
        are kept; the others are read again each time, by the participants' index on the person, NAMES_A_QUERY at
        a time, so a name an import adds while the archive is open shows from the next page read."""
        unknown = sorted(set(people) - self._names.keys())
        for start in range(0, len(unknown), NAMES_A_QUERY):
            ids = unknown[start : start + NAMES_A_QUERY]
            marks = ", ".join("?" for _ in ids)
            self._names.update(
                self._rows(
                    "SELECT participant_id, min(display_name) FROM participants "
                    f"WHERE participant_id IN ({marks}) AND display_name <> '' GROUP BY participant_id",
                    ids,
                )
            )
        return {person: self._names.get(person) for person in people}

    def _time(self) -> str:
        return "CAST(? AS timestamptz)" if self.dialect == "postgresql" else "?"

    def _with_parts(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each message with its attachments (and their stored file's sha256) and reactions."""
        for message in messages:
            message["attachments"], message["reactions"] = [], []
        if not messages:
            return messages
        by_key = {(m["owner_id"], m["conversation_id"], m["id"]): m for m in messages}
        first = messages[0]
        ids = [m["id"] for m in messages]
        marks = ", ".join("?" for _ in ids)
        for owner, conv, mid, position, name, size, media_type, sha256, content_type in self._rows(
            "SELECT a.owner_id, a.conversation_id, a.message_id, a.position, a.file_name, a.file_size, a.media_type, "
            "a.sha256, f.content_type FROM attachments AS a LEFT JOIN media_files AS f ON f.sha256 = a.sha256 "
            f"WHERE a.owner_id = ? AND a.conversation_id = ? AND a.message_id IN ({marks}) "
            "ORDER BY a.message_id, a.position",
            [first["owner_id"], first["conversation_id"], *ids],
        ):
            if (owner, conv, mid) in by_key:
                by_key[(owner, conv, mid)]["attachments"].append(
                    {
                        "position": position,
                        "file_name": name,
                        "file_size": size,
                        "media_type": media_type,
                        "sha256": sha256,
                        "content_type": content_type,  # of the stored file (None when it is not stored)
                    }
                )
        for owner, conv, mid, emotion, user in self._rows(
            "SELECT owner_id, conversation_id, message_id, emotion, user_id FROM reactions "
            f"WHERE owner_id = ? AND conversation_id = ? AND message_id IN ({marks}) ORDER BY emotion, user_id",
            [first["owner_id"], first["conversation_id"], *ids],
        ):
            if (owner, conv, mid) in by_key:
                by_key[(owner, conv, mid)]["reactions"].append({"emotion": emotion, "user_id": user})
        return messages

    # --- stored files ---------------------------------------------------------------------------------
    def read_media(self, sha256: str, limit: int) -> bytes | None:
        """A stored file's bytes, whole: None when it is not stored or is larger than `limit` bytes."""
        stored = self.loader.media_file(sha256)
        if stored is None or stored["size"] > limit:
            return None
        return b"".join(self.loader.open_media(sha256))

    def save_media(self, sha256: str, target: str | Path) -> int:
        """A stored file's bytes into the file `target` (replaced whole, never seen half written): the bytes."""
        return save_media(self.loader, sha256, Path(target))

    # --- search -------------------------------------------------------------------------------------
    def search(
        self, query: str | Query, *, limit: int = 50, offset: int = 0, mark: tuple[str, str] = ("[", "]")
    ) -> list[dict[str, Any]]:
        """Hits of a query, newest first: each message's keys, time, sender, text and a `snippet` with the
        matched words marked [so] (or between the two strings of `mark`). QueryError when the query cannot be read
        or names no one."""
        parsed = query if isinstance(query, Query) else parse(query)
        where: list[str] = []
        params: list[Any] = []
        source, order = "messages AS m", "m.sent_at DESC, m.id DESC"
        expression = parsed.fts5() if self.dialect == "sqlite" else parsed.tsquery()
        conversations = self._conversations(parsed.conversations) if parsed.conversations else []
        if self.dialect == "sqlite" and conversations:
            # in: is a word of the index (load/search_index.SCOPE): part of the match, not a filter after it
            scopes = [
                f'"{SCOPE}{number}"'
                for owner, conv in conversations
                for (number,) in self._rows(
                    "SELECT scope FROM search_scopes WHERE owner_id = ? AND conversation_id = ?", (owner, conv)
                )
            ]
            if not scopes:
                return []  # conversations without a message
            scope = " OR ".join(scopes)
            expression = f"({expression}) AND ({scope})" if expression else scope
            conversations = []
        if expression is not None and self.dialect == "sqlite":
            # newest first is the index's own key order (time in ms, then the rowid): the first page of hits
            # stops after `limit` matches however common the word; dates are key ranges
            source = "messages_fts AS f JOIN messages AS m ON m.rowid = f.message_rowid"
            order = "f.rowid DESC"
            where.append("messages_fts MATCH ?")
            params.append(expression)
            if parsed.after or parsed.before:
                low, high = key_range(parsed.after, parsed.before)
                where.append("f.rowid >= ? AND f.rowid < ?")
                params += [low, high]
        else:
            if expression is not None:
                where.append("m.search @@ CAST(? AS tsquery)")
                params.append(expression)
            if parsed.after:
                where.append(f"m.sent_at >= {self._time()}")
                params.append(parsed.after)
            if parsed.before:
                where.append(f"m.sent_at < {self._time()}")
                params.append(parsed.before)
        if parsed.senders:
            senders = self._senders(parsed.senders)
            where.append(f"m.sender_id IN ({', '.join('?' for _ in senders)})")
            params += senders
        if conversations:
            where.append("(" + " OR ".join("(m.owner_id = ? AND m.conversation_id = ?)" for _ in conversations) + ")")
            params += [value for pair in conversations for value in pair]
        rows = self._rows(
            f"{_SELECT_MESSAGES.replace('messages AS m', source)} WHERE {' AND '.join(where) or 'TRUE'} "
            f"ORDER BY {order} LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        hits = self._with_names([dict(zip(MESSAGE_COLUMNS, row, strict=True)) for row in rows])
        for hit in hits:
            hit["snippet"] = snippet(hit["content_text"], parsed, mark=mark)
        return hits

    def _senders(self, values: list[str]) -> list[str]:
        """The sender ids a from: names: an id as it is, or anyone whose name contains the value (folded)."""
        people = self._rows("SELECT DISTINCT participant_id, display_name FROM participants")  # every sender is one
        found = _named(
            [(pid, pid, name) for pid, name in people if pid],
            values,
            "from",
            "no one of that id or name wrote in this archive",
        )
        return sorted(found)

    def _conversations(self, values: list[str]) -> list[tuple[str, str]]:
        """The conversations an in: names: an id as it is, or those whose name contains the value (folded)."""
        found = _named(
            [((owner, conv), conv, name) for owner, conv, name in self._conversation_names()],
            values,
            "in",
            "no conversation of that id or name in this archive",
        )
        return sorted(found)

    def _conversation_names(self) -> list[tuple[str, str, str | None]]:
        """(owner_id, id, name) of every conversation, named as the browser lists it: its own name, else (a
        one-to-one chat) the name the archive knows for the other person."""
        rows = self._rows("SELECT owner_id, id, display_name, kind FROM conversations")
        known = self._known_names([conv for _, conv, name, kind in rows if _partner_named(name, kind, conv)])
        return [(owner, conv, _listed_name(name, known.get(conv), conv)) for owner, conv, name, _ in rows]

    def find_conversations(self, value: str) -> list[dict[str, str | None]]:
        """The conversations `value` names: those of that id (as typed, else folded as in: folds it); else those
        whose name is the value (folded); else those whose name contains it. Each as {owner_id, id, name}, ordered
        by name and id."""
        rows = self._conversation_names()
        wanted = fold(value)
        found = [r for r in rows if r[1] == value]
        if not found and wanted:
            found = (
                [r for r in rows if fold(r[1]) == wanted]
                or [r for r in rows if fold(r[2] or "") == wanted]
                or [r for r in rows if wanted in fold(r[2] or "")]
            )
        return [
            {"owner_id": owner, "id": conv, "name": name}
            for owner, conv, name in sorted(found, key=lambda r: (fold(r[2] or r[1]), r[1], r[0]))
        ]


def _named(candidates: list[tuple[Any, str, str | None]], values: list[str], operator: str, none: str) -> set[Any]:
    """What a filter's values name, of (what, its id, its name): an id as it is, or a name that contains the value,
    folded. QueryError ("operator:value: none.") for a value that names nothing."""
    found: set[Any] = set()
    for value in values:
        wanted = fold(value)
        matched = {what for what, key, name in candidates if fold(key) == wanted or wanted in fold(name or "")}
        if not matched:
            raise QueryError(f"{operator}:{value}: {none}.")
        found |= matched
    return found
