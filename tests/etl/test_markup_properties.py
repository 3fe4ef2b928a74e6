"""Property-based tests of the markup reader: random markup never raises, and never loses text outside tags."""

from __future__ import annotations

from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from skype_etl_gui.etl.transform import markup
from skype_etl_gui.etl.transform.derive import derive

TAG_NAMES = [
    "b", "i", "s", "u", "pre", "ss", "at", "a", "p", "div", "br", "li", "ul", "emoji", "quote", "legacyquote",
    "e_m", "URIObject", "partlist", "part", "name", "duration", "MediaAlbum", "initiator", "target", "value",
    "OriginalName", "FileSize", "flag", "addmember", "topicupdate", "x:y", "A", "P",
]  # fmt: skip
MESSAGE_TYPES = [
    "RichText", "Text", "RichText/Html", "RichText/UriObject", "RichText/Media_Video", "RichText/Media_Album",
    "RichText/Media_GenericFile", "RichText/Media_CallRecording", "Poll", "Event/Call", "ThreadActivity/AddMember",
    "ThreadActivity/DeleteMember", "ThreadActivity/TopicUpdate", "ThreadActivity/MemberJoined", "RichText/Location",
    "RichText/Contacts", "RichText/Media_Card", "Notice", None,
]  # fmt: skip

names = st.sampled_from(TAG_NAMES)
attribute_values = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)


@st.composite
def attribute_text(draw: Any) -> str:
    name = draw(st.sampled_from(["type", "uri", "href", "id", "alt", "v", "ts_ms", "title", "optionsEncoded", "a"]))
    value = draw(attribute_values)
    style = draw(st.sampled_from(['"', "'", "", "broken"]))
    if style == "broken":
        return f'{name}="{value}'  # never closed
    if style == "":
        return f"{name}={value.replace(' ', '') or 'x'}"
    return f"{name}={style}{value.replace(style, '')}{style}"


@st.composite
def tags(draw: Any) -> str:
    name = draw(names)
    attrs = " ".join(draw(st.lists(attribute_text(), max_size=3)))
    form = draw(st.sampled_from(["open", "close", "empty", "cut"]))
    if form == "close":
        return f"</{name}>"
    if form == "cut":
        return f"<{name} {attrs}"  # a tag that never ends
    return f"<{name}{' ' if attrs else ''}{attrs}{'/' if form == 'empty' else ''}>"


random_markup = st.lists(
    st.one_of(tags(), st.text(max_size=15), st.sampled_from(["&amp;", "&#x1F600;", "&bogus;", "<", ">", "&", "\n"])),
    max_size=25,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(content=random_markup, message_type=st.sampled_from(MESSAGE_TYPES))
@example(content="<quote author='8:a'>x", message_type="RichText")
@example(content="<partlist><part identity=8:a><duration>x</duration></part>", message_type="Event/Call")
@example(content='<URIObject type="Poll" optionsEncoded="|||">', message_type="Poll")
@example(content="<e_m ts_ms='zz'/>", message_type="RichText")
def test_random_markup_never_raises(content: str, message_type: str | None) -> None:
    for conv_id, sender in (("8:anna", "8:anna"), ("19:x@thread.skype", "19:x@thread.skype"), ("48:calllogs", None)):
        derived = derive(conv_id, sender, "Anna", message_type, content, {}, None, "8:me", {"8:anna": "Anna"})
        assert isinstance(derived.text, str)
        assert "\x00" not in derived.text or "\x00" in content


# words (no markup characters) between tags that only format: each must be in the text, in order
words = st.from_regex(r"[A-Za-z0-9]{1,8}", fullmatch=True)
formatting = st.sampled_from(
    [
        "<b>", "</b>", "<i>", "</i>", "<s>", "</s>", "<u>", "</u>", "<pre>", "</pre>", "<p>", "</p>", "<div>",
        "</div>", "<br>", "<br/>", "<ul>", "<li>", "</li>", "</ul>", "<span class='x'>", "</span>",
        '<font color="red">', "</font>", "<x:unknown a=1>", "</x:unknown>",
    ]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(parts=st.lists(st.one_of(words.map(lambda w: ("word", w)), formatting.map(lambda t: ("tag", t))), max_size=30))
def test_text_outside_tags_is_never_lost(parts: list[tuple[str, str]]) -> None:
    content = " ".join(value for _, value in parts)
    text = markup.to_text(content)
    position = 0
    for kind, value in parts:
        if kind != "word":
            continue
        found = text.find(value, position)
        assert found >= 0, (value, content, text)
        position = found + len(value)


@settings(max_examples=200, deadline=None)
@given(before=words, quoted=words, after=words, author=st.sampled_from(["", "8:anna"]))
def test_a_quote_keeps_its_words_and_those_around_it(before: str, quoted: str, after: str, author: str) -> None:
    content = f"{before}<quote author='{author}'><legacyquote>[1:00] </legacyquote>{quoted}</quote>{after}"
    text = markup.to_text(content)
    lines = text.split("\n")
    assert lines[0] == before
    assert lines[1].startswith(">") and lines[1].endswith(quoted)
    assert lines[-1] == after
