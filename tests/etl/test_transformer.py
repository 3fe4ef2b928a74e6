"""Each message family's content_text and fields, table-driven, through real imports into SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from skype_etl_gui.etl import ETLPipeline
from skype_etl_gui.etl.run.context import ETLContext
from skype_etl_gui.etl.transform.rows import iso_timestamp, millis_to_iso
from skype_etl_gui.etl.transform.transformer import Transformer, participant_ids
from tests.conftest import Database, PgDatabase, conversation, export_document, message, write_export

URI = "https://api.asm.skype.com/v1/objects/0-weu-d3-0123456789abcdef0123456789abcdef"
CARD = base64.b64encode(json.dumps({"attachments": [{"content": {"title": "Hi", "text": "A card"}}]}).encode()).decode()

CASES: list[tuple[str, str, Any, str]] = [
    ("plain", "RichText", "just text", "just text"),
    ("entities", "RichText", "a &amp; b &lt;3 &quot;q&quot; it&apos;s &gt;", 'a & b <3 "q" it\'s >'),
    ("bare ampersand", "RichText", "fish & chips", "fish & chips"),
    ("bold italic strike", "RichText", "<b>bold</b> <i>it</i> <s>old</s> <u>u</u>", "bold it old u"),
    ("pre", "RichText", "<pre>x = 1 &lt; 2</pre>", "x = 1 < 2"),
    (
        "link same as text",
        "RichText",
        '<a href="https://example.com/x">https://example.com/x</a>',
        "https://example.com/x",
    ),
    (
        "link with text",
        "RichText",
        'see <a href="https://example.com/?a=1&amp;b=2">this page</a>',
        "see this page (https://example.com/?a=1&b=2)",
    ),
    ("emoticon", "RichText", 'hi <ss type="smile">:)</ss>', "hi :)"),
    ("emoticon without text", "RichText", '<ss type="heart"></ss>', "(heart)"),
    ("mention", "RichText", '<at id="8:live:bob">Bob Smith</at> look', "@Bob Smith look"),
    ("flag", "RichText", '<flag country="ee"></flag> Tallinn', "(flag: ee) Tallinn"),
    (
        "quote",
        "RichText",
        '<quote author="8:anna" authorname="Anna" timestamp="1594056032" conversation="8:anna" messageid="1" cuid="1">'
        "<legacyquote>[10:00:32] Anna: </legacyquote>original words<legacyquote>\n\n&lt;&lt;&lt; </legacyquote></quote>my reply",
        "> Anna: original words\nmy reply",
    ),
    ("edit marker", "RichText", 'Edited previous message: fixed<e_m ts="1" ts_ms="1000" a="x" t="61"/>', "fixed"),
    ("raw emoji", "RichText", "party 🎉👍🏽", "party 🎉👍🏽"),
    ("multi-line", "RichText", "line one\nline two\n\ttabbed", "line one\nline two\n\ttabbed"),
    ("broken markup", "RichText", "<b>unclosed <i>tags & a < sign", "unclosed tags & a < sign"),
    ("old Text", "Text", "plain old text", "plain old text"),
    (
        "photo",
        "RichText/UriObject",
        f'<URIObject uri="{URI}" url_thumbnail="{URI}/views/imgt1" type="Picture.1" doc_id="0-weu-d3-0123456789abcdef0123456789abcdef">'
        'To view this photo, go to: <a href="https://login.skype.com/x">https://login.skype.com/x</a>'
        '<OriginalName v="cat.png"/><FileSize v="2048"/><meta type="photo" originalName="cat.png"/></URIObject>',
        "Photo: cat.png (2.0 KB)",
    ),
    (
        "file, paired FileSize",
        "RichText/Media_GenericFile",
        f'<URIObject uri="{URI}" type="File.1" doc_id="d1">To view this file, go to: <a href="x">x</a>'
        '<OriginalName v="report &amp; notes.pdf"></OriginalName><FileSize v="123"></FileSize></URIObject>',
        "File: report & notes.pdf (123 B)",
    ),
    (
        "video",
        "RichText/Media_Video",
        f'<URIObject uri="{URI}" type="Video.1/Message.1"><OriginalName v="clip.mp4"/></URIObject>',
        "Video: clip.mp4",
    ),
    (
        "voice",
        "RichText/Media_AudioMsg",
        f'<URIObject uri="{URI}" type="Audio.1/Message.1"><OriginalName v="v.m4a"/></URIObject>',
        "Voice message: v.m4a",
    ),
    ("flik", "RichText/Media_FlikMsg", f'<URIObject uri="{URI}" type="Video.1/Flik.1"></URIObject>', "Flik"),
    (
        "card",
        "RichText/Media_Card",
        f'<URIObject type="SWIFT.1"><Swift b64="{CARD}"/></URIObject>',
        "Card: Hi — A card",
    ),
    (
        "location",
        "RichText/Location",
        '<location latitude="59436810" longitude="24740695" address="Tallinn, Estonia" shortAddress="Tallinn">'
        '<a href="https://maps">Tallinn, Estonia</a></location>',
        "Location: Tallinn, Estonia (59.436810, 24.740695)",
    ),
    (
        "contacts",
        "RichText/Contacts",
        '<contacts><c t="s" s="live:anna" f="Anna T"></c><c t="s" s="bob"></c></contacts>',
        "Shared contacts: Anna T (live:anna), bob",
    ),
    (
        "call started",
        "Event/Call",
        '<partlist type="started" alt="" callId="1"><part identity="anna"><name>Anna</name></part></partlist>',
        "Call started",
    ),
    (
        "call ended",
        "Event/Call",
        '<partlist type="ended" alt="" callId="1"><part identity="anna"><name>Anna</name><duration>84.82</duration></part></partlist>',
        "Call ended, 1 min 25 s",
    ),
    (
        "call missed",
        "Event/Call",
        '<partlist type="missed" alt=""><part identity="bob"><name>Bob</name></part></partlist>',
        "Missed call from Bob",
    ),
    (
        "members added",
        "ThreadActivity/AddMember",
        "<addmember><eventtime>1</eventtime><initiator>8:me</initiator><target>8:anna</target><target>8:bob</target></addmember>",
        "8:me added Anna, 8:bob",  # Anna: the displayName of her messages
    ),
    (
        "member removed",
        "ThreadActivity/DeleteMember",
        "<deletemember><eventtime>1</eventtime><initiator>8:me</initiator><target>8:bob</target></deletemember>",
        "8:me removed 8:bob",
    ),
    (
        "member left",
        "ThreadActivity/DeleteMember",
        "<deletemember><eventtime>1</eventtime><initiator>8:bob</initiator><target>8:bob</target></deletemember>",
        "8:bob left the conversation",
    ),
    (
        "topic",
        "ThreadActivity/TopicUpdate",
        "<topicupdate><eventtime>1</eventtime><initiator>8:me</initiator><value>Trip &amp; plans</value></topicupdate>",
        '8:me changed the topic to "Trip & plans"',
    ),
    (
        "picture",
        "ThreadActivity/PictureUpdate",
        "<pictureupdate><eventtime>1</eventtime><initiator>8:me</initiator><value>URL@x</value></pictureupdate>",
        "8:me changed the conversation picture",
    ),
    (
        "joining enabled",
        "ThreadActivity/JoiningEnabledUpdate",
        "<joiningenabledupdate><eventtime>1</eventtime><initiator>8:me</initiator><value>true</value></joiningenabledupdate>",
        "8:me set joining by link to true",
    ),
    (
        "history disclosed",
        "ThreadActivity/HistoryDisclosedUpdate",
        "<historydisclosedupdate><eventtime>1</eventtime><initiator>8:me</initiator><value>false</value></historydisclosedupdate>",
        "8:me set history visible to new members to false",
    ),
    (
        "notice",
        "Notice",
        json.dumps([{"attachments": [{"content": {"title": "Notice", "text": "Skype retires"}}]}]),
        "Notice — Skype retires",
    ),
    ("popcard", "PopCard", json.dumps([{"content": {"title": "Welcome", "text": "Say hi"}}]), "Welcome — Say hi"),
    ("translation", "Translation", json.dumps({"originalText": "tere", "translatedText": "hello"}), "hello"),
    ("encrypted", "EndToEndEncryption/EncryptedText", "AAECAw==", "(encrypted message)"),
    ("e2ee handshake", "ThreadActivity/E2EEHandshakeInvite", "opaque", "(encrypted message)"),
    ("relationship", "InviteFreeRelationshipChanged/Initialized", "<Initialized/>", ""),
    ("poll", "Poll", "<poll>Lunch?</poll>", "Poll: Lunch?"),
    ("bing bot", "Event/BingBot", "<b>bot</b> says", "bot says"),
    ("album", "RichText/Media_Album", '<URIObject type="Picture.1/Album"></URIObject>', "Album: 1 photo"),
    ("unknown future type", "Some/FutureType", "<x a='1'>future &amp; text</x>", "future & text"),
    ("empty content", "RichText", "", ""),
]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def imported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Every case as one message of one export, imported once into each database."""
    tmp = tmp_path_factory.mktemp("types")
    messages = [message(str(i), content, mtype) for i, (_, mtype, content, _) in enumerate(CASES)]
    path = write_export(tmp / "types.json", export_document([conversation("8:anna", messages)]))
    if request.param == "sqlite":
        database: Any = Database(tmp / "types.db")
    else:
        server = request.getfixturevalue("pg_server")
        database = PgDatabase(server, server.create_database())
    summary = ETLPipeline(database.url).run(path)
    assert summary["status"] == "completed"
    yield database
    if request.param == "postgresql":
        server.drop_database(database.name)


@pytest.mark.parametrize(("index", "case"), list(enumerate(CASES)), ids=[c[0] for c in CASES])
def test_content_text(imported: Database, index: int, case: tuple[str, str, str, str]) -> None:
    _, mtype, content, expected = case
    row = imported.query(
        "SELECT message_type, content_raw, content_text, sender_id, sent_at FROM messages WHERE id = ?", (str(index),)
    )
    assert row == [(mtype, content, expected, "8:anna", "2020-09-13T12:26:40.123Z")]


def test_media_attachments(imported: Database) -> None:
    rows = imported.query(
        "SELECT m.message_type, a.file_name, a.file_size, a.uri, a.media_type FROM attachments a "
        "JOIN messages m ON m.conversation_id = a.conversation_id AND m.id = a.message_id ORDER BY CAST(m.id AS INTEGER)"
    )
    assert ("RichText/UriObject", "cat.png", 2048, URI, "Picture.1") in rows
    assert ("RichText/Media_GenericFile", "report & notes.pdf", 123, URI, "File.1") in rows
    assert ("RichText/Media_AudioMsg", "v.m4a", None, URI, "Audio.1/Message.1") in rows
    assert len(rows) == 6  # photo, file, video, voice, flik, album


def test_structured_details(imported: Database) -> None:
    details = dict(imported.query("SELECT content_text, details FROM messages WHERE details IS NOT NULL"))
    call = json.loads(details["Call ended, 1 min 25 s"])
    assert call == {
        "call": "ended",
        "call_id": "1",
        "participants": [{"id": "anna", "name": "Anna", "duration_s": 84.82}],
        "direction": "incoming",  # from 8:anna, in the export of 8:live:.cid.me
        "duration_s": 84.82,
    }
    location = json.loads(details["Location: Tallinn, Estonia (59.436810, 24.740695)"])
    assert location["latitude"] == pytest.approx(59.43681)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2020-09-13T12:26:40.123Z", "2020-09-13T12:26:40.123Z"),
        ("2020-09-13T12:26:40.12Z", "2020-09-13T12:26:40.120Z"),
        ("2020-09-13T12:26:40.1234567Z", "2020-09-13T12:26:40.123Z"),
        ("2020-09-13T12:26:40Z", "2020-09-13T12:26:40.000Z"),
        ("2020-13-13T12:26:40.123Z", None),
        ("yesterday", None),
        (1600000000, None),
        (None, None),
    ],
)
def test_timestamps(value: Any, expected: str | None) -> None:
    assert iso_timestamp(value) == expected


def test_millis_to_iso() -> None:
    assert millis_to_iso("1594056032575") == "2020-07-06T17:20:32.575Z"
    assert millis_to_iso("soon") is None


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        ('["8:a", "8:b"]', ["8:a", "8:b"]),
        ('[{"MemberMri": "8:a", "Role": "Admin"}, {"MemberMri": "19:bot"}]', ["8:a", "19:bot"]),
        (["8:a", {"MemberMri": "8:b"}], ["8:a", "8:b"]),
        ("not json, 8:a", ["not json", "8:a"]),
        (None, []),
        (42, []),
    ],
)
def test_participant_ids(members: Any, expected: list[str]) -> None:
    assert participant_ids(members) == expected


def test_transformer_reports_without_losing_messages() -> None:
    context = ETLContext()
    rows = Transformer(context).messages(
        "8:anna",
        [
            message("1"),
            "not an object",
            message(None),
            message(7, content=12),
            message("2", originalarrivaltime="garbage", messagetype=None, properties="text"),
        ],
    )
    assert [r[1] for r in rows.messages] == ["1", "7", "2"]
    types = sorted(e.error_type for e in context.drain_errors())
    assert types == sorted(
        [
            "InvalidMessage",
            "MissingMessageId",
            "NonStringId",
            "NonStringContent",
            "InvalidTimestamp",
            "MissingMessageType",
            "InvalidProperties",
        ]
    )


def test_senders_become_participants(tmp_path: Path) -> None:
    context = ETLContext()
    transformer = Transformer(context)
    first = transformer.messages(
        "19:g@thread.skype", [message("1", displayName=None), message("2", **{"from": "8:bob"})]
    )
    second = transformer.messages("19:g@thread.skype", [message("3"), message("4", **{"from": "8:bob"})])
    assert first.participants == [  # a thread's rows are no one export's: their owner is ''
        ("19:g@thread.skype", "8:anna", None, "sender", ""),
        ("19:g@thread.skype", "8:bob", "Anna", "sender", ""),
    ]
    # a name seen later for a sender stored without one is sent again, nothing else is
    assert second.participants == [("19:g@thread.skype", "8:anna", "Anna", "sender", "")]
