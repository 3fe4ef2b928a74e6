"""Real Skype markup, read right: one hand-written record (or a few) per point of issue 14, imported for real.

Each record is of a shape found in real exports (2020 and 2025) or quoted in bug
trackers; the comments name the point. Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from skype_etl_gui.etl import ETLPipeline
from tests.conftest import write_export

THREAD = "19:5f2a9c0e1b@thread.skype"
ME = "8:live:.cid.me"
COLUMNS = (
    "sender_id, sender_raw, sender_name, content_text, details, edited_at, deleted_at, sent_at, reply_to, amsreferences"
)


def m(msg_id, content, mtype="RichText", **extra):
    entry = {
        "id": msg_id,
        "displayName": "Anna",
        "originalarrivaltime": "2020-09-13T12:26:40.123Z",
        "messagetype": mtype,
        "version": int(msg_id),
        "content": content,
        "conversationid": "x",
        "from": "8:anna",
        "properties": None,
        "amsreferences": None,
    }
    entry.update(extra)
    return entry


group = [
    # 1 thread event with the thread as `from`
    m(
        "101",
        "<addmember><eventtime>1600000000000</eventtime><initiator>8:anna</initiator><target>8:bob</target></addmember>",
        "ThreadActivity/AddMember",
        **{"from": THREAD, "displayName": None},
    ),
    m(
        "102",
        "<topicupdate><eventtime>1600000000000</eventtime><initiator>8:bob</initiator><value>Trip</value></topicupdate>",
        "ThreadActivity/TopicUpdate",
        **{"from": THREAD, "displayName": ""},
    ),
    # 2 poll
    m(
        "103",
        '<URIObject type="Poll" title="Lunch?" optionsEncoded="Pizza|Sushi|Salad" allowMultipleVotes="true"></URIObject>',
        "Poll",
    ),
    # 3 album
    m(
        "104",
        '<MediaAlbum albumId="alb-1" count="2"></MediaAlbum>',
        "RichText/Media_Album",
        amsreferences=["0-weu-d3-aaaa", "0-weu-d3-bbbb"],
    ),
    # 4 single-quoted attributes (Skype 7)
    m(
        "105",
        "<URIObject type='Picture.1' content-type='image/jpeg' uri='https://api.asm.skype.com/v1/objects/0-cus-d4-1234' url_thumbnail='https://api.asm.skype.com/v1/objects/0-cus-d4-1234/views/imgt1'><OriginalName v='beach.jpg'/><FileSize v='2048'/></URIObject>",
        "RichText/UriObject",
    ),
    # 5 media kinds by type
    m(
        "106",
        '<URIObject type="Video.1" uri="https://api.asm.skype.com/v1/objects/0-weu-d3-vvvv" doc_id="0-weu-d3-vvvv"><OriginalName v="clip.mp4"/><FileSize v="900"/></URIObject>',
        "RichText/Media_Video",
    ),
    m(
        "107",
        '<URIObject type="Audio.1" uri="https://api.asm.skype.com/v1/objects/0-weu-d3-aaud" doc_id="0-weu-d3-aaud"><OriginalName v="note.m4a"/></URIObject>',
        "RichText/Media_AudioMsg",
    ),
    m(
        "108",
        '<URIObject type="CallRecording" uri="https://api.asm.skype.com/v1/objects/0-weu-d3-rec"><OriginalName v="call.mp4"/></URIObject>',
        "RichText/Media_CallRecording",
    ),
    # 6 edits and deletes
    m("109", 'See you at 8<e_m a="8:anna" ts_ms="1600000123456" ts="1600000123" t="61"></e_m>'),
    m(
        "110",
        'Edited previous message: See you at 9<e_m a="8:anna" ts_ms="1600000200000" ts="1600000200" t="61"></e_m>',
    ),
    m("111", '<e_m a="8:anna" ts_ms="1600000300000" ts="1600000300" t="61"/>'),
    # 7 calls
    m(
        "112",
        '<partlist alt="" callId="1600000000777"><part identity="8:anna"><name>Anna</name><duration>2057</duration></part><part identity="8:bob"><name>Bob</name><duration>2057</duration></part></partlist>',
        "Event/Call",
    ),
    m("113", '<partlist type="missed" alt=""><part identity="8:bob"><name>Bob</name></part></partlist>', "Event/Call"),
    # 8 HTML bodies
    m(
        "114",
        '<p>First line</p><div>Second <emoji alt="👀" title="eyes"></emoji></div>third<br>fourth<ul><li>one</li><li>two</li></ul>',
        "RichText/Html",
    ),
    # 9 quotes
    m(
        "115",
        'before<quote author="8:anna" authorname="Anna" timestamp="1600000000" conversation="x" messageid="109"><legacyquote>[old] </legacyquote>See you at 8</quote>Sounds good',
    ),
    # 10 names: bob's displayName known from his message
    m("116", "hi all", **{"from": "8:bob", "displayName": "Bob Builder"}),
    # 11 JSON bodies
    m(
        "117",
        '{"initiator": "8:anna", "members": [{"id": "8:carl", "friendlyName": "Carl"}]}',
        "ThreadActivity/MemberJoined",
        **{"from": THREAD},
    ),
    m("118", '{"type": "card", "title": "Weather", "text": "Sunny"}', "RichText/Card"),
    # 12 from as URL
    m(
        "119",
        "from a url",
        **{
            "from": "https://azscus1-client-s.gateway.messenger.live.com/v1/users/ME/contacts/8:bob",
            "displayName": "Bob Builder",
        },
    ),
    # reactions and mentions
    m(
        "120",
        'Hey <at id="8:bob">Bob</at> and <at id="*">everyone</at>',
        properties={"emotions": [{"key": "heart", "users": [{"mri": "8:bob", "time": 1600000400000, "value": "1"}]}]},
    ),
    m(
        "121",
        "json string reactions",
        properties={"emotions": '[{"key": "laugh", "users": [{"mri": "8:anna", "time": 1600000500000}]}]'},
    ),
    # 13 smaller defects
    m("122", "offset", originalarrivaltime="2020-09-13T14:26:40.123+02:00"),
    m("123", "no time", originalarrivaltime=None),
]
one_to_one = [m("201", "only I wrote", **{"from": ME, "displayName": "Me"})]
DOC = {
    "userId": ME,
    "exportDate": "2025-04-30T18:22",
    "conversations": [
        {
            "id": THREAD,
            "displayName": "Friends",
            "version": 1,
            "properties": {},
            "threadProperties": {"members": '["8:anna","8:bob","' + THREAD + '"]', "topic": "Friends"},
            "MessageList": group,
        },
        {
            "id": "8:partner",
            "displayName": "Partner",
            "version": 1,
            "properties": {},
            "threadProperties": None,
            "MessageList": one_to_one,
        },
        {
            "id": "48:calllogs",
            "displayName": None,
            "version": 1,
            "properties": {},
            "threadProperties": None,
            "MessageList": [
                m(
                    "301",
                    '{"callId": "c-9", "callDirection": "outgoing", "callState": "accepted", "startTime": "2020-09-13T12:00:00Z", "endTime": "2020-09-13T12:34:17Z", "originator": "8:live:.cid.me", "target": "8:bob", "participants": ["8:live:.cid.me", "8:bob"]}',
                    "RichText",
                    **{"from": "8:live:.cid.me"},
                )
            ],
        },
    ],
}


@pytest.fixture
def archive(any_db: Any, tmp_path: Path) -> Any:
    summary = ETLPipeline(any_db.url).run(str(write_export(tmp_path / "messages.json", DOC)))
    assert summary["status"] == "completed", summary["error"]
    any_db.summary = summary
    return any_db


def stored(db: Any, msg_id: str) -> dict[str, Any]:
    rows = db.query(f"SELECT {COLUMNS} FROM messages WHERE id = ?", (msg_id,))
    assert len(rows) == 1, msg_id
    row = dict(zip([c.strip() for c in COLUMNS.split(",")], rows[0], strict=True))
    for key in ("details", "amsreferences"):
        if isinstance(row[key], str):
            row[key] = json.loads(row[key])
    return row


def people(db: Any, conv_id: str) -> dict[str, tuple[Any, Any]]:
    rows = db.query(
        "SELECT participant_id, display_name, source FROM participants WHERE conversation_id = ?", (conv_id,)
    )
    return {pid: (name, source) for pid, name, source in rows}


def test_1_a_thread_event_is_sent_by_its_initiator_and_the_thread_is_no_participant(archive: Any) -> None:
    added = stored(archive, "101")
    assert (added["sender_id"], added["sender_raw"]) == ("8:anna", THREAD)
    assert added["details"]["initiator"] == "8:anna"
    assert stored(archive, "102")["sender_id"] == "8:bob"
    assert THREAD not in people(archive, THREAD)
    assert archive.one("SELECT count(*) FROM messages WHERE sender_id = ?", (THREAD,)) == 0


def test_2_a_poll_keeps_its_title_and_every_option(archive: Any) -> None:
    poll = stored(archive, "103")
    assert poll["content_text"] == "Poll: Lunch? — Pizza / Sushi / Salad"
    assert poll["details"]["poll"] == {
        "title": "Lunch?",
        "options": ["Pizza", "Sushi", "Salad"],
        "multiple_votes": True,
    }


def test_3_an_album_says_how_many_photos_and_keeps_their_references(archive: Any) -> None:
    album = stored(archive, "104")
    assert album["content_text"] == "Album: 2 photos"
    assert album["amsreferences"] == ["0-weu-d3-aaaa", "0-weu-d3-bbbb"]
    assert album["details"]["album"]["amsreferences"] == ["0-weu-d3-aaaa", "0-weu-d3-bbbb"]
    docs = archive.query("SELECT doc_id FROM attachments WHERE message_id = '104' ORDER BY position")
    assert docs == [("0-weu-d3-aaaa",), ("0-weu-d3-bbbb",)]  # each photo can be linked to its file


def test_4_single_quoted_attributes_keep_the_uri_doc_id_and_type(archive: Any) -> None:
    assert stored(archive, "105")["content_text"] == "Photo: beach.jpg (2.0 KB)"
    assert archive.query(
        "SELECT file_name, file_size, uri, doc_id, media_type FROM attachments WHERE message_id = '105'"
    ) == [("beach.jpg", 2048, "https://api.asm.skype.com/v1/objects/0-cus-d4-1234", "0-cus-d4-1234", "Picture.1")]


@pytest.mark.parametrize(
    ("msg_id", "text", "kind"),
    [
        ("106", "Video: clip.mp4 (900 B)", "Video.1"),
        ("107", "Voice message: note.m4a", "Audio.1"),
        ("108", "Call recording: call.mp4", "CallRecording"),
    ],
)
def test_5_media_are_labelled_by_their_type(archive: Any, msg_id: str, text: str, kind: str) -> None:
    assert stored(archive, msg_id)["content_text"] == text
    assert archive.one("SELECT media_type FROM attachments WHERE message_id = ?", (msg_id,)) == kind


def test_6_edit_marks_and_deletes(archive: Any) -> None:
    edited = stored(archive, "109")
    assert (edited["content_text"], edited["edited_at"], edited["deleted_at"]) == (
        "See you at 8",
        "2020-09-13T12:28:43.456Z",
        None,
    )
    prefixed = stored(archive, "110")
    assert (prefixed["content_text"], prefixed["edited_at"]) == ("See you at 9", "2020-09-13T12:30:00.000Z")
    deleted = stored(archive, "111")
    assert (deleted["content_text"], deleted["deleted_at"]) == ("", "2020-09-13T12:31:40.000Z")


def test_7_a_call_without_a_type_but_with_durations_ended(archive: Any) -> None:
    call = stored(archive, "112")
    assert call["content_text"] == "Call ended, 34 min 17 s"
    details = call["details"]
    assert (details["call"], details["call_id"], details["direction"], details["duration_s"]) == (
        "ended",
        "1600000000777",
        "incoming",
        2057,
    )
    assert [(p["id"], p["name"], p["duration_s"]) for p in details["participants"]] == [
        ("8:anna", "Anna", 2057),
        ("8:bob", "Bob", 2057),
    ]
    assert stored(archive, "113")["content_text"] == "Missed call from Bob"


def test_8_html_bodies_keep_their_lines_emoji_and_list_items(archive: Any) -> None:
    text = stored(archive, "114")["content_text"]
    assert text.split("\n") == ["First line", "", "Second 👀", "third", "fourth", "", "• one", "• two"]


def test_9_a_quote_is_on_its_own_line_and_linked_to_the_message_it_quotes(archive: Any) -> None:
    reply = stored(archive, "115")
    assert reply["content_text"] == "before\n> Anna: See you at 8\nSounds good"
    assert reply["reply_to"] == "109"
    assert reply["details"]["quote"] == {
        "author": "8:anna",
        "author_name": "Anna",
        "message_id": "109",
        "conversation_id": "x",
        "timestamp": 1600000000,
    }


def test_10_event_texts_use_the_names_the_export_knows(archive: Any) -> None:
    # Bob's name comes from his own messages (116, 119), after the event was read
    assert stored(archive, "101")["content_text"] == "Anna added Bob Builder"
    assert stored(archive, "102")["content_text"] == 'Bob Builder changed the topic to "Trip"'


def test_11_json_bodies_get_readable_text_and_details(archive: Any) -> None:
    joined = stored(archive, "117")
    assert (joined["content_text"], joined["sender_id"]) == ("Anna added Carl", "8:anna")
    card = stored(archive, "118")
    assert card["content_text"] == "Weather — Sunny"
    assert card["details"]["json"]["title"] == "Weather"
    call = stored(archive, "301")
    assert call["content_text"] == "Outgoing call with Bob Builder"
    assert call["details"]["json"]["callId"] == "c-9"
    texts = [row[0] for row in archive.query("SELECT content_text FROM messages")]
    assert not [t for t in texts if t.lstrip().startswith("{")]


def test_12_a_sender_written_as_a_url_is_its_id(archive: Any) -> None:
    row = stored(archive, "119")
    assert row["sender_id"] == "8:bob"
    assert row["sender_raw"].startswith("https://")
    assert sorted(people(archive, THREAD)) == ["8:anna", "8:bob"]  # no second Bob


def test_13_smaller_defects(archive: Any) -> None:
    assert stored(archive, "122")["sent_at"] == "2020-09-13T12:26:40.123Z"  # +02:00 to UTC
    assert stored(archive, "123")["sent_at"] is None
    assert archive.query("SELECT error_type, message_id FROM etl_errors WHERE severity = 'warning'") == [
        ("MissingTimestamp", "123")
    ]
    assert stored(archive, "102")["sender_name"] is None  # an empty displayName
    assert people(archive, "8:partner") == {ME: ("Me", "member"), "8:partner": (None, "member")}
    # every record not stored is counted, with its row: here none was skipped
    assert archive.summary["errors"] == archive.count("etl_errors") == 1
    assert archive.count("messages") == sum(len(c["MessageList"]) for c in DOC["conversations"])


def test_reactions_in_both_forms_and_mentions(archive: Any) -> None:
    assert archive.query(
        "SELECT message_id, emotion, user_id, reacted_at, value FROM reactions ORDER BY message_id"
    ) == [
        ("120", "heart", "8:bob", "2020-09-13T12:33:20.000Z", "1"),
        ("121", "laugh", "8:anna", "2020-09-13T12:35:00.000Z", None),
    ]
    assert archive.query("SELECT message_id, position, mentioned_id FROM mentions ORDER BY position") == [
        ("120", 0, "8:bob"),
        ("120", 1, "*"),
    ]
    assert stored(archive, "120")["content_text"] == "Hey @Bob and @everyone"


def test_a_reimport_changes_nothing_and_a_reprocess_finds_nothing_to_change(archive: Any, tmp_path: Path) -> None:
    from skype_etl_gui.etl.load import open_existing
    from skype_etl_gui.etl.run.reprocess import Reprocess

    before = archive.snapshot()
    again = ETLPipeline(archive.url).run(str(tmp_path / "messages.json"))
    assert again["status"] == "completed"
    assert archive.snapshot() == before
    loader = open_existing(archive.url)
    try:
        summary = Reprocess(loader).run()
    finally:
        loader.close()
    assert (summary["status"], summary["changed"]) == ("completed", 0)
    assert archive.snapshot() == before


def test_13_every_record_not_stored_is_counted_with_its_row(any_db: Any, tmp_path: Path) -> None:
    entries: list[Any] = [
        m("1", "kept"),
        m("0", "no id", id=None),
        "not a record",
        None,
        m("2", "bad time", originalarrivaltime="yesterday"),
    ]
    doc = {**DOC, "conversations": [{**DOC["conversations"][0], "MessageList": entries}]}
    summary = ETLPipeline(any_db.url).run(str(write_export(tmp_path / "bad.json", doc)))
    assert summary["status"] == "completed"
    skipped = any_db.query("SELECT error_type FROM etl_errors WHERE severity = 'error' ORDER BY id")
    assert len(skipped) == 3  # the record without an id, the string and the null
    assert any_db.count("messages") == 2
    assert summary["errors"] == any_db.count("etl_errors")  # the repaired time is counted too
    assert any_db.one("SELECT error_type FROM etl_errors WHERE message_id = '2'") == "InvalidTimestamp"
