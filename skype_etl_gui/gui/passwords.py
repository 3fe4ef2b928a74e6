"""PostgreSQL passwords in the system keyring, when the system has one; never in the settings file.

Without a usable keyring (a headless machine, no Secret Service), nothing is
stored: the window asks each time, and libpq's PGPASSWORD and ~/.pgpass still
work with an empty password field.
"""

from __future__ import annotations

from typing import Any

SERVICE = "skype-etl-gui PostgreSQL"


def _keyring() -> Any | None:
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 1) <= 0:
        return None
    return keyring


def available() -> bool:
    return _keyring() is not None


def account(host: str, port: int, database: str, user: str) -> str:
    return f"{user}@{host}:{port}/{database}"


def load(name: str) -> str | None:
    store = _keyring()
    if store is None:
        return None
    try:
        return store.get_password(SERVICE, name)
    except Exception:  # noqa: BLE001 - a locked or broken keyring means: ask
        return None


def save(name: str, password: str) -> bool:
    store = _keyring()
    if store is None:
        return False
    try:
        store.set_password(SERVICE, name, password)
    except Exception:  # noqa: BLE001 - not remembered, which the window says
        return False
    return True


def forget(name: str) -> None:
    store = _keyring()
    if store is not None:
        try:
            store.delete_password(SERVICE, name)
        except Exception:  # noqa: BLE001 - nothing to forget
            pass
