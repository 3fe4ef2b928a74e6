"""Which loader serves a database URL, like dlt's destination factories.

The registry names each loader by where it lives and imports it only when a
database of its kind is opened: the base module never imports a concrete loader
(so there is no import cycle), and what never touches PostgreSQL (the producer,
the worker process, a SQLite import) never loads psycopg2.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from ..errors import DatabaseError
from ..urls import DatabaseTarget, parse_database_url
from .base import Loader

LoaderFactory = Callable[[DatabaseTarget], Loader]
# kind -> "module:class", relative to this package; or a factory registered at run time
_LOADERS: dict[str, str | LoaderFactory] = {
    "sqlite": ".sqlite:SQLiteLoader",
    "postgresql": ".postgres:PostgresLoader",
}


def register(kind: str, factory: LoaderFactory) -> None:
    """Serve URLs of `kind` with `factory` (a loader class, or a function of the parsed target)."""
    _LOADERS[kind] = factory


def preload() -> None:
    """Every named loader imported now. A window does it as it opens: importing a module (compiling it, where
    there is no bytecode cache) holds the interpreter lock throughout, so a first import in the import's thread
    stalled the window's own thread for 40 to 100 ms as Start was pressed."""
    for kind in list(_LOADERS):
        _factory(kind)


def _factory(kind: str) -> LoaderFactory:
    entry = _LOADERS[kind]
    if isinstance(entry, str):
        module_name, _, class_name = entry.partition(":")
        entry = getattr(importlib.import_module(module_name, __package__), class_name)
        _LOADERS[kind] = entry
    return entry


def open_loader(database: str | dict[str, Any] | DatabaseTarget) -> Loader:
    """A loader for a URL, a legacy db_config dict or a parsed target (not yet connected)."""
    target = database if isinstance(database, DatabaseTarget) else parse_database_url(database)
    return _factory(target.kind)(target)


def open_existing(database: str | dict[str, Any] | DatabaseTarget) -> Loader:
    """A connected loader that may write, on an archive that exists (a reprocess): never a new, empty one.

    A missing local file, a database no import ever wrote, or one made by a newer version is a DatabaseError.
    """
    target = database if isinstance(database, DatabaseTarget) else parse_database_url(database)
    if target.kind == "sqlite" and target.path is not None and not target.path.exists():
        raise DatabaseError(f"{target.display}: no such database (nothing was imported there yet)")
    return _checked(open_loader(target))


def _checked(loader: Loader) -> Loader:
    """Connected, with the schema checked (a database this program did not make, or a newer one, refused)."""
    loader.connect()
    try:
        loader.check_schema()
    except BaseException:
        loader.close()
        raise
    return loader


def open_for_reading(database: str | dict[str, Any] | DatabaseTarget, missing_ok: bool = True) -> Loader | None:
    """A connected loader that cannot write, to read runs and errors back; reading never makes or migrates.

    A local database that does not exist is None with `missing_ok` (the window: "no imports yet"), else
    a DatabaseError (the command line: one line, exit 2).
    """
    target = database if isinstance(database, DatabaseTarget) else parse_database_url(database)
    if target.kind == "sqlite" and target.path is not None and not target.path.exists():
        if missing_ok:
            return None
        raise DatabaseError(f"{target.display}: no such database (nothing was imported there yet)")
    loader = open_loader(target)
    loader.read_only = True
    return _checked(loader)
