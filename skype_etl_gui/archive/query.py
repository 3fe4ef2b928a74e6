"""The search box's language, read into a `Query`, and the text folding both databases index by.

Syntax (the contract's): words, all of which must appear, in any order; `"a
phrase"`; `prefix*`; `-word` or `-"a phrase"` excludes; `from:ID_OR_NAME`,
`in:CONVERSATION_ID_OR_NAME`, `after:YYYY-MM-DD` (that day included) and
`before:YYYY-MM-DD` (that day excluded). A filter's value may be quoted
(`from:"Anna Smith"`).

Matching folds case and removes diacritics in every script: both the indexed
text and the query pass through `fold` (NFKD, every combining mark removed,
lower case) and are cut into words by `words` (letters and digits), both in
etl/fold.py: SQLite's index is fed by `search_text`, PostgreSQL's `search`
column by `tsvector`, the same words.

Nothing the user types ever becomes SQL: a Query compiles to an FTS5 expression
or a tsquery text, each passed as one bound parameter, built here from words that
are letters and digits only; filters are bound parameters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from ..etl.fold import WORD, fold, words

_FILTERS = ("from", "in", "after", "before")


class QueryError(ValueError):
    """A query that cannot be read: its message says why, in words for the person who typed it."""


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]  # one word, or a phrase's words in order
    prefix: bool = False  # the last word may go on


@dataclass
class Query:
    text: str
    include: list[Term] = field(default_factory=list)
    exclude: list[Term] = field(default_factory=list)
    senders: list[str] = field(default_factory=list)  # from: values, as typed
    conversations: list[str] = field(default_factory=list)  # in: values, as typed
    after: str | None = None  # ISO time, included
    before: str | None = None  # ISO time, excluded

    @property
    def has_filters(self) -> bool:
        return bool(self.senders or self.conversations or self.after or self.before)

    def fts5(self) -> str | None:
        """The FTS5 MATCH expression, or None when only filters were given."""
        if not self.include:
            return None

        def quoted(term: Term) -> str:
            return '"' + " ".join(term.words) + '"' + (" *" if term.prefix else "")

        expression = " AND ".join(quoted(t) for t in self.include)
        for term in self.exclude:
            expression = f"({expression}) NOT {quoted(term)}"
        return expression

    def tsquery(self) -> str | None:
        """The tsquery text (read by PostgreSQL's tsquery input, no dictionary), or None when only filters."""
        if not self.include:
            return None

        def phrase(term: Term) -> str:
            parts = [f"'{w}'" for w in term.words]
            if term.prefix:
                parts[-1] += ":*"
            return "(" + " <-> ".join(parts) + ")" if len(parts) > 1 else parts[0]

        return " & ".join([*(phrase(t) for t in self.include), *(f"!{phrase(t)}" for t in self.exclude)])

    def marks(self, word: str) -> bool:
        """Whether a folded word of a hit's text is one the query looks for (for the snippet)."""
        for term in self.include:
            for i, wanted in enumerate(term.words):
                last = i == len(term.words) - 1
                if word == wanted or (last and term.prefix and word.startswith(wanted)):
                    return True
        return False


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<neg>-)?(?:(?P<key>[A-Za-z]+):)?
        (?:"(?P<quoted>[^"]*)(?P<closed>")?|(?P<bare>[^\s"]+))
    )""",
    re.VERBOSE,
)


def parse(text: str) -> Query:
    """The query a person typed; QueryError, saying why, when it cannot be read or looks for nothing."""
    query = Query(text)
    at = 0
    text = text.strip()
    if not text:
        raise QueryError("Type a word to search for.")
    while at < len(text):
        found = _TOKEN.match(text, at)
        if found is None or found.end() == at:
            raise QueryError(f"Cannot read the search at “{text[at : at + 20]}”.")
        at = found.end()
        if found["quoted"] is not None and found["closed"] is None:
            raise QueryError('A quote (") is not closed: close it, or leave it out.')
        key = (found["key"] or "").lower()
        value = found["quoted"] if found["quoted"] is not None else found["bare"]
        negative = bool(found["neg"])
        if key and key not in _FILTERS:  # not a filter: a word with a colon in it
            value, key = f"{found['key']}:{value}", ""
        if not key and value.lower().rstrip(":") in _FILTERS and value.endswith(":"):
            key, value = value.lower().rstrip(":"), ""  # a filter with nothing after it
        if key:
            _filter(query, key, value, negative)
            continue
        prefix = found["quoted"] is None and value.endswith("*")
        found_words = words(value.rstrip("*") if prefix else value)
        if not found_words:
            continue  # only punctuation or operators: nothing to look for in it
        term = Term(tuple(found_words), prefix)
        (query.exclude if negative else query.include).append(term)
    if not query.include and not query.has_filters:
        if query.exclude:
            raise QueryError("Say what to look for, not only what to leave out (-word needs a word beside it).")
        raise QueryError("There is no word to search for: only punctuation or operators were typed.")
    return query


def _filter(query: Query, key: str, value: str, negative: bool) -> None:
    if negative:
        raise QueryError(f"-{key}: cannot be excluded; use {key}: to narrow the search instead.")
    value = value.strip()
    if not value:
        raise QueryError(f"{key}: needs a value, e.g. {key}:{_EXAMPLES[key]}")
    if key == "from":
        query.senders.append(value)
    elif key == "in":
        query.conversations.append(value)
    else:
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise QueryError(f"{key}: needs a date as YYYY-MM-DD, e.g. {key}:2020-01-31 (not “{value}”)") from None
        if key == "after":
            query.after = f"{day.isoformat()}T00:00:00.000Z"
        else:
            query.before = f"{day.isoformat()}T00:00:00.000Z"
        if query.after and query.before and query.after >= query.before:
            raise QueryError("after: must be a day before before:.")


_EXAMPLES = {"from": "anna", "in": '"Family chat"', "after": "2020-01-31", "before": "2020-01-31"}


def snippet(text: str | None, query: Query, width: int = 160, mark: tuple[str, str] = ("[", "]")) -> str:
    """The hit's text around its first matched word, the matched words marked."""
    text = " ".join((text or "").split())
    spans = [m.span() for m in WORD.finditer(text) if query.marks(fold(m.group()))]
    start = 0
    if spans and spans[0][0] > width // 3:
        start = text.rfind(" ", 0, spans[0][0] - width // 3) + 1
    end = min(len(text), start + width)
    if end < len(text):
        end = max(text.rfind(" ", start, end), start + width // 2)
    pieces, at = [], start
    for a, b in spans:
        if a < start or b > end:
            continue
        pieces += [text[at:a], mark[0], text[a:b], mark[1]]
        at = b
    pieces.append(text[at:end])
    return ("…" if start else "") + "".join(pieces) + ("…" if end < len(text) else "")
