"""Skype's message markup to readable plain text, and the structure inside it (quotes, mentions, edit marks).

Real content is HTML/XML-like and often not well-formed, so nothing here uses an
XML parser: each construct is matched on its own and anything unrecognised is
stripped as a tag only when it has the shape of a tag (a bare `<` stays text).
Attributes are read by one tolerant reader: double quotes, single quotes (Skype 7)
or none at all.
"""

from __future__ import annotations

import functools
import html
import re
from typing import Any

_TAG = re.compile(r"</?[A-Za-z][\w:.-]*(?:\s[^<>]*)?/?>")
_ATTR = re.compile(r"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'<>=`]+))""")
_LINK = re.compile(r"<a\b([^<>]*)>(.*?)</a\s*>", re.S | re.I)
_MENTION = re.compile(r"<at\b([^<>]*)>(.*?)</at\s*>", re.S)
_EMOTICON = re.compile(r"<ss\b([^<>]*)>(.*?)</ss\s*>", re.S)
_EMOJI = re.compile(r"<emoji\b([^<>]*)>(?:(.*?)</emoji\s*>)?", re.S | re.I)
_FLAG = re.compile(r"<flag\b([^<>]*)>(?:.*?</flag\s*>)?", re.S)
_EDIT_MARK = re.compile(r"<e_m\b([^<>]*?)/?>(?:\s*</e_m>)?")
EDIT_PREFIX = "Edited previous message: "
_QUOTE = re.compile(r"<quote\b([^<>]*)>(.*?)</quote\s*>", re.S)
_LEGACY_QUOTE = re.compile(r"<legacyquote\b[^<>]*>.*?</legacyquote\s*>", re.S)
# HTML bodies (RichText/Html, Teams): blocks and line breaks end lines, list items stand on their own
_BLOCK_END = re.compile(r"</(?:p|div|h[1-6]|tr|blockquote|ul|ol)\s*>|<br\s*/?>", re.I)
_LIST_ITEM = re.compile(r"<li\b[^<>]*>", re.I)
_BLOCK_START = re.compile(r"<(?:p|div|h[1-6]|tr|blockquote|ul|ol)\b[^<>]*>", re.I)
_MANY_LINES = re.compile(r"\n{3,}")
_HTML_HINT = re.compile(r"<(?:p|div|br|li|h[1-6]|tr|ul|ol|blockquote)\b", re.I)


def attributes(tag_text: str) -> dict[str, str]:
    """The attributes of one start tag (names as written, values entity-decoded), in any quote style."""
    found: dict[str, str] = {}
    for name, double, single, bare in _ATTR.findall(tag_text):  # one alternative matched; the others are ""
        if name not in found:
            value = double or single or bare
            found[name] = html.unescape(value) if "&" in value else value
    return found


def attribute(attrs: dict[str, str], name: str) -> str | None:
    """An attribute whatever its case (`originalName`, `originalname`, `OriginalName`)."""
    if name in attrs:
        return attrs[name]
    lowered = name.lower()
    for key, value in attrs.items():
        if key.lower() == lowered:
            return value
    return None


def _link(match: re.Match[str]) -> str:
    href = attributes(match.group(1)).get("href", "")
    text = html.unescape(_TAG.sub("", match.group(2))).strip()
    if not href or text == href or not text:
        return href or text
    if text.rstrip("/") == href.rstrip("/"):
        return href
    return f"{text} ({href})"


def _emoticon(match: re.Match[str]) -> str:
    text = match.group(2)
    if text.strip():
        return text
    kind = attributes(match.group(1)).get("type")
    return f"({kind})" if kind else ""


def _emoji(match: re.Match[str]) -> str:
    attrs = attributes(match.group(1))
    return attrs.get("alt") or (match.group(2) or "") or (f"({attrs['id']})" if attrs.get("id") else "")


def _flag(match: re.Match[str]) -> str:
    country = attributes(match.group(1)).get("country")
    return f"(flag: {country})" if country else ""


def _quote(match: re.Match[str]) -> str:
    attrs = attributes(match.group(1))
    quoted = to_text(_LEGACY_QUOTE.sub("", match.group(2))).strip()
    author = attrs.get("authorname") or attrs.get("author") or ""
    lines = quoted.splitlines() or [""]
    head = f"> {author}: {lines[0]}" if author else f"> {lines[0]}"
    # a quote stands on its own lines, whatever came before it
    start = "\n" if match.start() > 0 and match.string[match.start() - 1] != "\n" else ""
    return start + "\n".join([head, *(f"> {line}" for line in lines[1:])]) + "\n"


def _html_blocks(content: str) -> str:
    content = _LIST_ITEM.sub("\n• ", content)
    content = _BLOCK_END.sub("\n", content)
    return _BLOCK_START.sub("\n", content)


def to_text(content: str) -> str:
    """Readable text of a RichText body: markup gone, entities decoded, meaning kept."""
    if "<" in content:
        html_body = _HTML_HINT.search(content) is not None
        if "<quote" in content:
            content = _QUOTE.sub(_quote, content)
        if "<e_m" in content:
            content = _EDIT_MARK.sub("", content)
            if content.startswith(EDIT_PREFIX):
                content = content[len(EDIT_PREFIX) :]
        if "<a" in content or "<A" in content:
            content = _LINK.sub(_link, content)
        if "<at" in content:
            content = _MENTION.sub(r"@\2", content)
        if "<ss" in content:
            content = _EMOTICON.sub(_emoticon, content)
        if "<emoji" in content or "<EMOJI" in content:
            content = _EMOJI.sub(_emoji, content)
        if "<flag" in content:
            content = _FLAG.sub(_flag, content)
        if html_body:
            content = _html_blocks(content)
        content = _TAG.sub("", content)
        if html_body:
            content = _MANY_LINES.sub("\n\n", "\n".join(line.rstrip() for line in content.split("\n"))).strip("\n")
    if "&" in content:
        content = html.unescape(content)
    return content


# --- the structure inside a RichText body --------------------------------------------------------------
def quote_of(content: str) -> dict[str, Any] | None:
    """The first <quote>'s author, name, time and message id, as data (None without a quote)."""
    match = _QUOTE.search(content) if "<quote" in content else None
    if match is None:
        return None
    attrs = attributes(match.group(1))
    quote: dict[str, Any] = {}
    for key, name in (
        ("author", "author"),
        ("author_name", "authorname"),
        ("message_id", "messageid"),
        ("conversation_id", "conversation"),
    ):
        if attrs.get(name):
            quote[key] = attrs[name]
    stamp = attrs.get("timestamp")
    if stamp and stamp.isdigit():
        quote["timestamp"] = int(stamp)
    return quote or None


def mentions_of(content: str) -> list[str]:
    """The id of every <at>, in order ('*' for everyone)."""
    if "<at" not in content:
        return []
    found = []
    for match in _MENTION.finditer(content):
        mentioned = attributes(match.group(1)).get("id")
        if mentioned:
            found.append(mentioned)
    return found


def edit_marks(content: str) -> tuple[str | None, bool]:
    """(the ts_ms of an <e_m> edit mark, whether the content is nothing but the mark: a delete)."""
    if "<e_m" not in content:
        return None, False
    match = _EDIT_MARK.search(content)
    if match is None:
        return None, False
    attrs = attributes(match.group(1))
    stamp = attrs.get("ts_ms") or (attrs["ts"] + "000" if attrs.get("ts", "").isdigit() else None)
    rest = _EDIT_MARK.sub("", content).strip()
    if rest.startswith(EDIT_PREFIX.strip()):
        rest = rest[len(EDIT_PREFIX.strip()) :].strip()
    return stamp, rest == ""


@functools.cache
def _element(tag: str) -> re.Pattern[str]:
    return re.compile(rf"<{tag}\b[^<>]*>(.*?)</{tag}\s*>", re.S | re.I)


@functools.cache
def _start_tag(tag: str) -> re.Pattern[str]:
    return re.compile(rf"<{tag}\b([^<>]*)>", re.I)


def inner(content: str, tag: str) -> str | None:
    """Text inside the first <tag>...</tag>, markup-free, or None when absent."""
    match = _element(tag).search(content)
    return None if match is None else to_text(match.group(1)).strip()


def all_inner(content: str, tag: str) -> list[str]:
    return [to_text(m).strip() for m in _element(tag).findall(content)]


def elements(content: str, tag: str) -> list[tuple[dict[str, str], str]]:
    """(attributes, raw inner markup) of every <tag ...>...</tag>."""
    pattern = _elements(tag)
    return [(attributes(m.group(1)), m.group(2)) for m in pattern.finditer(content)]


@functools.cache
def _elements(tag: str) -> re.Pattern[str]:
    return re.compile(rf"<{tag}\b([^<>]*)>(.*?)</{tag}\s*>", re.S | re.I)


def start_tags(content: str, tag: str) -> list[dict[str, str]]:
    """Attributes of every <tag ...> start (or self-closing) tag."""
    return [attributes(m) for m in _start_tag(tag).findall(content)]
