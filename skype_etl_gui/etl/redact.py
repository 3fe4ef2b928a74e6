"""Keeping passwords out of everything the importer prints, logs or stores.

Only where a password is written in a known shape: a URL's user info and a
`password=` keyword. Never by looking for the password's text elsewhere: a
common word as a password would then be cut out of the person's own messages
(in the raw records etl_errors keeps), and their data must reach the database
as it is.
"""

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
