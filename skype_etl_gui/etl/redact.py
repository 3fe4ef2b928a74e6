"""Keeping passwords out of everything the importer prints, logs or stores."""

from __future__ import annotations

import re

# user:password@ inside any URL-like text, and password=... in libpq key=value DSNs
_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][\w+.-]*://[^:/@\s]*):(?P<secret>[^@\s]*)@")
_DSN_PASSWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)(?P<secret>'(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)
MASK = "***"


def redact_text(text: str) -> str:
    """Hide passwords written in URLs or DSNs inside `text`."""
    text = _URL_PASSWORD.sub(lambda m: f"{m.group('head')}:{MASK}@", text)
    return _DSN_PASSWORD.sub(lambda m: f"{m.group('head')}{MASK}", text)


class Redactor:
    """Redacts URL passwords plus any secret registered with `add_secret`."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def add_secret(self, secret: str | None) -> None:
        if secret:
            self._secrets.add(secret)

    def redact(self, text: str) -> str:
        text = redact_text(text)
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text
