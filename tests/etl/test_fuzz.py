"""Property-based tests: mutated exports never crash the importer, and no record is lost without an error row."""

from __future__ import annotations

import json
import sqlite3
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from skype_etl_gui.etl import ETLPipeline, ExportError

SKIPPED_RECORD = ("InvalidMessage", "MissingMessageId")

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8,
)
message_types = st.sampled_from(
    [
        "RichText",
        "Text",
        "RichText/UriObject",
        "Event/Call",
        "ThreadActivity/AddMember",
        "Notice",
        "PopCard",
        "RichText/Location",
        "RichText/Media_Card",
        "Brand/New",
    ]
)
contents = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        [
            '<URIObject uri="u"><OriginalName v="a.png"/><FileSize v="x"/></URIObject>',
            '<partlist type="ended"><duration>abc</duration></partlist>',
            "[{",
            '<Swift b64="!!"/>',
            '<location latitude="x"/>',
            "<quote><legacyquote>",
            "&#xZZ; &amp",
            "<at id=>x</at>",
        ]
    ),
    json_values,
)
ids = st.one_of(st.text(min_size=1, max_size=6), st.integers(0, 50), json_values)
messages = st.one_of(
    st.fixed_dictionaries(
        {"id": ids},
        optional={
            "content": contents,
            "messagetype": st.one_of(message_types, json_values),
            "from": st.one_of(st.text(max_size=10), json_values),
            "displayName": json_values,
            "originalarrivaltime": st.one_of(st.just("2020-01-02T03:04:05.6Z"), json_values),
            "version": json_values,
            "properties": json_values,
        },
    ),
    json_values,
)
conversations = st.one_of(
    st.fixed_dictionaries(
        {"id": ids, "MessageList": st.one_of(st.lists(messages, max_size=8), json_values)},
        optional={"displayName": json_values, "threadProperties": json_values, "properties": json_values},
    ),
    json_values,
)
documents = st.fixed_dictionaries(
    {"conversations": st.lists(conversations, max_size=5)}, optional={"userId": json_values}
)


def usable_id(value: Any) -> str | None:
    """What counts as a message or conversation id: text, or a finite number (stored as text)."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    exact = Decimal(repr(value))  # the number as the JSON text writes it (2.695928591371995e+16 ends in 950)
    return str(int(exact)) if exact == exact.to_integral_value() else str(exact)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=documents, batch_size=st.integers(1, 7))
def test_every_record_is_stored_or_reported(document: dict[str, Any], batch_size: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "messages.json"
        path.write_text(json.dumps(document))
        db = Path(folder) / "out.db"
        summary = ETLPipeline(f"sqlite:///{db}", batch_size=batch_size, parallel=False).run(path)
        assert summary["status"] == "completed", summary["error"]
        conn = sqlite3.connect(db)
        stored = set(conn.execute("SELECT conversation_id, id FROM messages"))
        errors = conn.execute("SELECT conversation_id, error_type FROM etl_errors").fetchall()
        conn.close()
    for conv in document["conversations"]:
        conv_id = usable_id(conv.get("id")) if isinstance(conv, dict) else None
        if conv_id is None:
            continue
        entries = conv.get("MessageList")
        for entry in entries if isinstance(entries, list) else []:
            msg_id = usable_id(entry.get("id")) if isinstance(entry, dict) else None
            if msg_id is not None:
                assert (conv_id, msg_id) in stored
    unusable = sum(
        1
        for conv in document["conversations"]
        if isinstance(conv, dict)
        and usable_id(conv.get("id")) is not None
        and isinstance(conv.get("MessageList"), list)
        for entry in conv["MessageList"]
        if not (isinstance(entry, dict) and usable_id(entry.get("id")) is not None)
    )
    assert sum(1 for _, kind in errors if kind in SKIPPED_RECORD) == unusable
    without_id = sum(
        1 for conv in document["conversations"] if not (isinstance(conv, dict) and usable_id(conv.get("id")))
    )
    assert sum(1 for _, kind in errors if kind == "MissingConversationId") == without_id


SEED_DOCUMENT = json.dumps(
    {
        "userId": "8:me",
        "conversations": [
            {
                "id": "8:a",
                "displayName": None,
                "MessageList": [
                    {
                        "id": str(i),
                        "messagetype": "RichText",
                        "content": f"<b>hi</b> &amp; {i}",
                        "from": "8:a",
                        "originalarrivaltime": "2020-01-02T03:04:05.678Z",
                        "version": i,
                    }
                    for i in range(12)
                ],
            },
            {
                "id": "19:g@thread.skype",
                "threadProperties": {"members": '["8:a"]'},
                "MessageList": [
                    {
                        "id": "100",
                        "messagetype": "Event/Call",
                        "content": '<partlist type="ended"><duration>3</duration></partlist>',
                    }
                ],
            },
        ],
    }
).encode()


@settings(max_examples=120, deadline=None)
@given(
    cuts=st.lists(st.tuples(st.integers(0, len(SEED_DOCUMENT)), st.integers(0, 20), st.binary(max_size=6)), max_size=4),
    truncate=st.one_of(st.none(), st.integers(0, len(SEED_DOCUMENT))),
)
def test_mutated_bytes_fail_only_in_documented_ways(cuts: list[tuple[int, int, bytes]], truncate: int | None) -> None:
    data = bytearray(SEED_DOCUMENT)
    for at, remove, insert in cuts:
        data[at : at + remove] = insert
    if truncate is not None:
        del data[truncate:]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.tar"
        path.write_bytes(bytes(data))
        try:
            summary = ETLPipeline(f"sqlite:///{folder}/out.db", batch_size=3, parallel=False).run(path)
        except ExportError:
            return  # rejected before anything was written
        assert summary["status"] in ("completed", "failed"), summary
        if summary["status"] == "failed":  # broke part way: our own message, naming the file
            assert summary["error"].startswith(str(path)), summary["error"]


# --- depth and size ---------------------------------------------------------------------------------------------
deep_values = st.recursive(
    st.one_of(st.none(), st.integers(-5, 5), st.text(alphabet='ab[]{}"\\\n', max_size=6)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=3), inner, max_size=3)),
    max_leaves=40,
)


def nest(value: Any, depth: int) -> Any:
    for n in range(depth):
        value = [value] if n % 2 else {"k": value}
    return value


def cut_deeper_than(value: Any, limit: int, depth: int = 1) -> Any:
    """What the guard must make of a value: every container deeper than `limit` replaced by the marker."""
    from skype_etl_gui.etl.extract.depth import MARKER

    if isinstance(value, (list, dict)) and depth > limit:
        return MARKER
    if isinstance(value, list):
        return [cut_deeper_than(v, limit, depth + 1) for v in value]
    if isinstance(value, dict):
        return {k: cut_deeper_than(v, limit, depth + 1) for k, v in value.items()}
    return value


@settings(max_examples=200, deadline=None)
@given(
    value=deep_values,
    extra=st.integers(0, 12),
    limit=st.integers(1, 10),
    splits=st.lists(st.integers(1, 40), min_size=1, max_size=60),
    ascii_only=st.booleans(),
)
def test_the_depth_guard_cuts_exactly_what_is_too_deep(
    value: Any, extra: int, limit: int, splits: list[int], ascii_only: bool
) -> None:
    """Fed in chunks split anywhere (inside strings, escapes and brackets), the guard leaves valid JSON that is
    the document with every container deeper than the limit replaced, and nothing else changed."""
    from skype_etl_gui.etl.extract.depth import DepthGuard

    document = nest(value, extra)
    text = json.dumps(document, ensure_ascii=ascii_only).encode()
    guard = DepthGuard(limit)
    out, at = b"", 0
    for size in splits * (len(text) // sum(splits) + 1):
        out += guard.filter(text[at : at + size])
        at += size
        if at >= len(text):
            break
    assert json.loads(out) == cut_deeper_than(document, limit)
    assert guard.depth == 0 and not guard.in_string and not guard.skipping


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(depths=[63, 64, 65, 66], sizes=[0], chunk=7)
@given(
    depths=st.lists(st.integers(0, 140), min_size=1, max_size=6),
    sizes=st.lists(st.integers(0, 300_000), min_size=1, max_size=3),
    chunk=st.sampled_from([7, 512, 65536]),
)
def test_deep_and_big_messages_are_stored_or_reported(depths: list[int], sizes: list[int], chunk: int) -> None:
    """Nesting up to 140 levels and messages up to 300 KB, read in chunks of any size: every message is stored,
    each one nesting deeper than 64 levels inside has one NestedTooDeep row, and big contents arrive whole."""
    from skype_etl_gui.etl.extract import Extractor

    entries = [
        {"id": f"d{n}", "messagetype": "RichText", "content": "x", "properties": nest(1, depth)}
        for n, depth in enumerate(depths)
    ]
    entries += [
        {"id": f"s{n}", "messagetype": "Text", "content": "word " * (size // 5)} for n, size in enumerate(sizes)
    ]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "messages.json"
        path.write_text(json.dumps({"conversations": [{"id": "8:a", "MessageList": entries}]}))
        events = Extractor(path, chunk_size=chunk).events()
        repaired = {e.entries[p - e.offset]["id"] for e in events if hasattr(e, "repairs") for p in e.repairs}
        db = Path(folder) / "out.db"
        summary = ETLPipeline(f"sqlite:///{db}", parallel=False).run(path)
        assert summary["status"] == "completed", summary["error"]
        conn = sqlite3.connect(db)
        stored = dict(conn.execute("SELECT id, length(content_raw) FROM messages"))
        too_deep = {
            row[0] for row in conn.execute("SELECT message_id FROM etl_errors WHERE error_type = 'NestedTooDeep'")
        }
        conn.close()
    # the message is level 0; its properties' containers are levels 1 to `depth`: more than 64 are cut
    expected = {f"d{n}" for n, depth in enumerate(depths) if depth > 64}
    assert too_deep == expected == repaired
    assert {f"d{n}" for n in range(len(depths))} <= stored.keys()
    assert all(stored[f"s{n}"] == len("word " * (size // 5)) for n, size in enumerate(sizes))
