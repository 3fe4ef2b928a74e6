"""Database URLs: which target they name, and how to show them without a password."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from .redact import redact_text


class DatabaseUrlError(ValueError):
    """The database URL cannot be understood (exit 2)."""


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
    """The legacy db_config dict: {dbname, user, password, host, port} (or sqlite_path)."""
    if "sqlite_path" in config:
        return DatabaseTarget("sqlite", sqlite_url(config["sqlite_path"]), path=Path(config["sqlite_path"]))
    keys = {
        "dbname": config.get("dbname") or config.get("database"),
        "user": config.get("user"),
        "password": config.get("password"),
        "host": config.get("host"),
        "port": config.get("port"),
        "sslmode": config.get("sslmode"),
    }
    parts = []
    for key, value in keys.items():
        if value not in (None, ""):
            escaped = str(value).replace("\\", "\\\\").replace("'", "\\'")
            parts.append(f"{key}='{escaped}'")
    if not keys["dbname"]:
        raise DatabaseUrlError("db_config names no database (dbname)")
    return DatabaseTarget("postgresql", " ".join(parts), dsn=" ".join(parts))
