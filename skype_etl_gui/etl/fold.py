"""Text as the search index holds it, the same for SQLite and PostgreSQL, for what is indexed and what is sought.

`fold`: compatibility-decomposed (NFKD), every combining mark removed (any
script: é is e, й is и, ά is α), lower case. `words`: the letters and digits of
the folded text. SQLite's index is fed by `search_text` (a trigger calls it);
PostgreSQL's generated column does the same in SQL with `MARK_RANGES`
(load/schema). The archive's search (skype_etl_gui.archive) folds the query
with the same functions.
"""

from __future__ import annotations

import re
import unicodedata

INDEXED_CHARS = 100_000  # of a message's text; PostgreSQL's tsvector holds at most 1 MB
WORD = re.compile(r"[^\W_]+")


def _mark_ranges() -> list[tuple[int, int]]:
    """Every combining mark (Unicode category M*), as ranges of code points."""
    ranges: list[tuple[int, int]] = []
    for code in [*range(0x30000), *range(0xE0000, 0xE1000)]:  # the planes that have marks (the rest: none)
        if unicodedata.category(chr(code)).startswith("M"):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return ranges


MARK_RANGES = _mark_ranges()
_NO_MARKS = {code: None for a, b in MARK_RANGES for code in range(a, b + 1)}  # str.translate: 2x a regex's speed


def fold(text: str) -> str:
    """Text as the index holds it: compatibility-decomposed, without combining marks, in lower case."""
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFKD", text).translate(_NO_MARKS).lower()


def words(text: str) -> list[str]:
    """The folded words of a text (letters and digits), as indexed."""
    return WORD.findall(fold(text))


def search_text(text: str | None) -> str | None:
    """What SQLite's full-text index is given for a message's text: its words, separated by spaces."""
    return " ".join(words(text[:INDEXED_CHARS])) if text else ""
