"""Database URLs: which target they name, and how to show them without a password."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from .errors import DatabaseUrlError
from .redact import redact_text

__all__ = [
    "DatabaseTarget",
    "DatabaseUrlError",
    "database_text",
    "dsn_fields",
    "dsn_text",
    "parse_database_url",
    "sqlite_url",
]


@dataclass(frozen=True)
class DatabaseTarget:
    kind: str  # "sqlite" or "postgresql"
    url: str  # as given; may hold a password, never shown
    path: Path | None = None  # SQLite file
    dsn: str | None = None  # libpq connection string or URI

    @property
    def display(self) -> str:
        """The URL without its password, for every place a person or a log sees it."""
        if self.kind == "sqlite":
            return sqlite_url(self.path or "")
        return redact_text(self.url)


def database_text(display_url: str) -> str:
    """A database as the window names it: a local (SQLite) database by its file, a server by its URL (shown
    without a password, as `display` gives it)."""
    if display_url.startswith("sqlite:"):
        try:
            target = parse_database_url(display_url)
        except DatabaseUrlError:
            return display_url
        return str(target.path)
    return display_url


def sqlite_url(path: str | os.PathLike[str]) -> str:
    # an absolute path brings its own slash: sqlite:////abs/path.db
    return f"sqlite:///{Path(path)}"


def parse_database_url(url: str | dict[str, Any]) -> DatabaseTarget:
    """sqlite:///relative.db, sqlite:////absolute.db, postgresql://..., or a libpq key=value DSN."""
    if isinstance(url, dict):
        return _from_config(url)
    text = url.strip()
    if not text:
        raise DatabaseUrlError("the database URL is empty")
    if text.startswith("sqlite:"):
        parts = urlsplit(text)
        if parts.netloc not in ("", "localhost"):
            raise DatabaseUrlError(
                f"{redact_text(text)}: a SQLite URL has no host; write sqlite:///relative.db or sqlite:////absolute/path.db"
            )
        raw_path = unquote(parts.path)
        if raw_path in ("", "/"):
            raise DatabaseUrlError(f"{text}: no database file named; write sqlite:///history.db")
        path = Path(raw_path[1:]) if raw_path.startswith("/") else Path(raw_path)
        return DatabaseTarget("sqlite", text, path=path)
    if text.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(text)
        if not parts.netloc and not parts.path.strip("/") and not parts.query:
            raise DatabaseUrlError(
                f"{redact_text(text)}: name the server or the database, e.g. postgresql://user@localhost/skype"
            )
        try:
            parts.port  # noqa: B018 - validates the port
        except ValueError as exc:
            raise DatabaseUrlError(f"{redact_text(text)}: the port is not a number") from exc
        return DatabaseTarget("postgresql", text, dsn=text)
    if "=" in text and "://" not in text:
        return DatabaseTarget("postgresql", text, dsn=text)
    scheme = text.split("://", 1)[0] if "://" in text else None
    if scheme:
        raise DatabaseUrlError(f"{redact_text(text)}: unsupported database {scheme!r}; use sqlite:/// or postgresql://")
    raise DatabaseUrlError(
        f"{redact_text(text)}: not a database URL; use sqlite:///file.db, sqlite:////absolute/file.db or postgresql://user@host/db"
    )


def _from_config(config: dict[str, Any]) -> DatabaseTarget:
    """A connection dict: the legacy db_config {dbname, user, password, host, port}, or any libpq keywords.

    (`database` is taken for `dbname`; `{"sqlite_path": ...}` names a SQLite file.)
    """
    if "sqlite_path" in config:
        return DatabaseTarget("sqlite", sqlite_url(config["sqlite_path"]), path=Path(config["sqlite_path"]))
    keys = {k: v for k, v in config.items() if k != "database"}
    keys["dbname"] = config.get("dbname") or config.get("database")
    if not keys["dbname"]:
        raise DatabaseUrlError("db_config names no database (dbname)")
    dsn = dsn_text(keys)
    return DatabaseTarget("postgresql", dsn, dsn=dsn)


def dsn_text(keys: dict[str, Any]) -> str:
    """libpq keywords as a key='value' string, quoted and escaped; empty values are left out."""
    parts = []
    for key, value in keys.items():
        if value not in (None, ""):
            escaped = str(value).replace("\\", "\\\\").replace("'", "\\'")
            parts.append(f"{key}='{escaped}'")
    return " ".join(parts)


_DSN_PAIR = re.compile(r"\s*(\w+)\s*=\s*(?:'((?:[^'\\]|\\.)*)'|((?:[^\s'\\]|\\.)+))")


def dsn_fields(text: str) -> dict[str, str]:
    """Every libpq keyword of a PostgreSQL URI or key=value string, values as written (decoded).

    Raises DatabaseUrlError for text libpq would not take. The URI's query
    parameters are keywords too, so nothing of what was given is lost.
    """
    text = text.strip()
    if text.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(text)
        netloc = parts.netloc.rpartition("@")[2]
        fields: dict[str, str] = {}
        if parts.username:
            fields["user"] = unquote(parts.username)
        if parts.password is not None:
            fields["password"] = unquote(parts.password)
        if "," in netloc:  # several hosts: kept as libpq lists them
            hosts = [h.rpartition(":") if h.count(":") == 1 else (h, "", "") for h in netloc.split(",")]
            fields["host"] = ",".join(unquote(h[0]) for h in hosts)
            if any(h[2] for h in hosts):
                fields["port"] = ",".join(h[2] for h in hosts)
        else:
            if parts.hostname:
                fields["host"] = unquote(parts.hostname)
            try:
                if parts.port is not None:
                    fields["port"] = str(parts.port)
            except ValueError as exc:
                raise DatabaseUrlError(f"{redact_text(text)}: the port is not a number") from exc
        if parts.path.strip("/"):
            fields["dbname"] = unquote(parts.path.lstrip("/"))
        fields.update(parse_qsl(parts.query, keep_blank_values=True))
        return fields
    fields = {}
    position = 0
    while position < len(text):
        match = _DSN_PAIR.match(text, position)
        if match is None:
            if text[position:].strip():
                raise DatabaseUrlError(
                    f"{redact_text(text)}: not a libpq key=value string near {text[position:][:20]!r}"
                )
            break
        key, quoted, bare = match.groups()
        fields[key] = re.sub(r"\\(.)", r"\1", quoted if quoted is not None else bare)
        position = match.end()
    return fields
