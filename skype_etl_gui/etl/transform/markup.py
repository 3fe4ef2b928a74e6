"""Skype's message markup to readable plain text.

Real content is HTML/XML-like and often not well-formed, so nothing here uses an
XML parser: each construct is matched on its own and anything unrecognised is
stripped as a tag only when it has the shape of a tag (a bare `<` stays text).
"""

from __future__ import annotations

import functools
import html
import re

_TAG = re.compile(r"</?[A-Za-z][\w:.-]*(?:\s[^<>]*)?/?>")
_ATTR = re.compile(r'([\w:-]+)\s*=\s*(?:"([^"]*)"|\'([^\']*)\')')
_LINK = re.compile(r"<a\b([^<>]*)>(.*?)</a\s*>", re.S | re.I)
_MENTION = re.compile(r"<at\b[^<>]*>(.*?)</at\s*>", re.S)
_EMOTICON = re.compile(r"<ss\b([^<>]*)>(.*?)</ss\s*>", re.S)
_FLAG = re.compile(r"<flag\b([^<>]*)>(?:.*?</flag\s*>)?", re.S)
_EDIT_MARK = re.compile(r"<e_m\b[^<>]*?/?>(?:\s*</e_m>)?")
_EDIT_PREFIX = "Edited previous message: "
_QUOTE = re.compile(r"<quote\b([^<>]*)>(.*?)</quote\s*>", re.S)
_LEGACY_QUOTE = re.compile(r"<legacyquote\b[^<>]*>.*?</legacyquote\s*>", re.S)


def attributes(tag_text: str) -> dict[str, str]:
    """The attributes of one start tag, values entity-decoded."""
    return {
        m.group(1): html.unescape(m.group(2) if m.group(2) is not None else m.group(3))
        for m in _ATTR.finditer(tag_text)
    }


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


def _flag(match: re.Match[str]) -> str:
    country = attributes(match.group(1)).get("country")
    return f"(flag: {country})" if country else ""


def _quote(match: re.Match[str]) -> str:
    attrs = attributes(match.group(1))
    quoted = to_text(_LEGACY_QUOTE.sub("", match.group(2))).strip()
    author = attrs.get("authorname") or attrs.get("author") or ""
    lines = quoted.splitlines() or [""]
    head = f"> {author}: {lines[0]}" if author else f"> {lines[0]}"
    return "\n".join([head, *(f"> {line}" for line in lines[1:])]) + "\n"


def to_text(content: str) -> str:
    """Readable text of a RichText body: markup gone, entities decoded, meaning kept."""
    if "<" in content:
        if "<quote" in content:
            content = _QUOTE.sub(_quote, content)
        if "<e_m" in content:
            content = _EDIT_MARK.sub("", content)
            if content.startswith(_EDIT_PREFIX):
                content = content[len(_EDIT_PREFIX) :]
        if "<a" in content or "<A" in content:
            content = _LINK.sub(_link, content)
        if "<at" in content:
            content = _MENTION.sub(r"@\1", content)
        if "<ss" in content:
            content = _EMOTICON.sub(_emoticon, content)
        if "<flag" in content:
            content = _FLAG.sub(_flag, content)
        content = _TAG.sub("", content)
    if "&" in content:
        content = html.unescape(content)
    return content


@functools.cache
def _element(tag: str) -> re.Pattern[str]:
    return re.compile(rf"<{tag}\b[^<>]*>(.*?)</{tag}\s*>", re.S)


@functools.cache
def _start_tag(tag: str) -> re.Pattern[str]:
    return re.compile(rf"<{tag}\b([^<>]*)>")


def inner(content: str, tag: str) -> str | None:
    """Text inside the first <tag>...</tag>, markup-free, or None when absent."""
    match = _element(tag).search(content)
    return None if match is None else to_text(match.group(1)).strip()


def all_inner(content: str, tag: str) -> list[str]:
    return [to_text(m).strip() for m in _element(tag).findall(content)]


def start_tags(content: str, tag: str) -> list[dict[str, str]]:
    """Attributes of every <tag ...> start (or self-closing) tag."""
    return [attributes(m) for m in _start_tag(tag).findall(content)]
