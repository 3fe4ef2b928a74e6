"""Text as the search index holds it, the same for SQLite and PostgreSQL, for what is indexed and what is sought.

`fold`: compatibility-decomposed (NFKD), every combining mark removed (any
script: é is e, й is и, ά is α), lower case. `words`: the letters and digits of
the folded text. SQLite's index is fed by `search_text` (the loader calls it);
PostgreSQL's `messages.search` by `tsvector` (the COPY text made in the
import's worker carries it). The SQL function `skype_search` does the same in
SQL with `MARK_RANGES` (load/schema), for an archive of an earlier version and
messages another tool wrote. The archive's search (skype_etl_gui.archive) folds
the query with the same functions.
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


MAX_POSITION = 16383  # PostgreSQL keeps a word's position up to this; later words all have it
MAX_POSITIONS = 255  # positions to_tsvector keeps of one word
MAX_WORD_BYTES = 2046  # a longer word is no word to PostgreSQL (to_tsvector leaves it out)
_ASCII_WORD = re.compile(r"[a-z0-9]+")


def tsvector(text: str | None) -> str:
    """A message's text as PostgreSQL's tsvector literal: each folded word with its position (1, 2, …), as
    `to_tsvector('simple', …)` makes of the words separated by spaces (the server merges a word's positions).
    Words are letters and digits only: nothing in it needs escaping, in the literal or in COPY text."""
    if not text:
        return ""
    text = text[:INDEXED_CHARS]
    found = _ASCII_WORD.findall(text.lower()) if text.isascii() else words(text)
    if len(found) > MAX_POSITIONS or (
        len(text) > MAX_WORD_BYTES // 4 and any(len(w) * 4 > MAX_WORD_BYTES for w in found)
    ):  # as to_tsvector: a word too long is left out, a word keeps MAX_POSITIONS, positions end at MAX_POSITION
        kept: dict[str, int] = {}
        pieces = []
        for number, word in enumerate([w for w in found if len(w.encode()) <= MAX_WORD_BYTES], 1):
            if kept.get(word, 0) < MAX_POSITIONS:
                kept[word] = kept.get(word, 0) + 1
                pieces.append(f"'{word}':{min(number, MAX_POSITION)}")
        return " ".join(pieces)
    return " ".join([f"'{w}':{n}" for n, w in enumerate(found, 1)])
