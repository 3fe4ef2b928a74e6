"""The streaming reader: inputs recognised by content, one pass, constant memory."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path
from typing import Any

import pytest

from skype_etl_gui.etl.errors import ExportError, ExportReadError
from skype_etl_gui.etl.extract import ConversationEnd, ConversationStart, Extractor, MessageChunk, fingerprint
from tests.conftest import conversation, export_document, message, write_export


def flatten(extractor: Extractor) -> list[tuple[Any, ...]]:
    """(conversation id, message ids) per conversation, from the event stream, checking its order."""
    result: list[tuple[Any, ...]] = []
    current: list[Any] | None = None
    for event in extractor.events():
        if isinstance(event, ConversationStart):
            assert current is None, "a conversation started before the previous ended"
            current = []
        elif isinstance(event, MessageChunk):
            assert current is not None
            assert event.offset == len(current)
            current += [m.get("id") if isinstance(m, dict) else m for m in event.entries]
        else:
            assert isinstance(event, ConversationEnd) and current is not None
            assert event.message_count == len(current)
            result.append((event.conversation_id, current))
            current = None
    return result


def expected(document: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (c.get("id"), [m.get("id") if isinstance(m, dict) else m for m in c.get("MessageList") or []])
        for c in document["conversations"]
    ]


def varied_document() -> dict[str, Any]:
    convs = [
        conversation("8:anna", [message(str(i), "x" * (i % 50)) for i in range(40)]),
        conversation("19:empty@thread.skype", []),
        conversation("8:one", [message("100")]),
        conversation("28:bot", [message(str(200 + i)) for i in range(3)]),
        conversation("48:calllogs", None),
    ]
    # a conversation whose id comes after its messages
    late = {"MessageList": [message("300"), message("301")], "displayName": "Late", "id": "8:late"}
    return export_document([*convs, late])


@pytest.mark.parametrize("chunk_size", [7, 64, 4096, 65536])
@pytest.mark.parametrize("kind", ["json", "tar", "tar.gz"])
def test_stream_matches_json_load(tmp_path: Path, kind: str, chunk_size: int) -> None:
    document = varied_document()
    path = write_export(tmp_path / f"export.{kind}", document, kind)
    assert flatten(Extractor(path, chunk_size=chunk_size)) == expected(document)


def test_header_read(tmp_path: Path) -> None:
    path = write_export(tmp_path / "e.json", varied_document())
    extractor = Extractor(path)
    extractor.events()
    assert (extractor.header.user_id, extractor.header.export_date) == ("8:live:.cid.me", "2025-04-30T18:22")


@pytest.mark.parametrize("kind", ["json", "tar", "tar.gz"])
def test_recognised_by_content_not_name(tmp_path: Path, kind: str) -> None:
    path = write_export(tmp_path / "renamed.dat", varied_document(), kind)
    assert Extractor(path).source.kind == kind


def test_messages_json_in_a_subfolder_prefix_and_beside_media(tmp_path: Path) -> None:
    data = json.dumps(varied_document()).encode()
    path = tmp_path / "export.tar"
    with tarfile.open(path, "w") as tar:
        for name, payload in (("endpoints.json", b"{}"), ("media/x.json", b"{}"), ("./messages.json", data)):
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    assert flatten(Extractor(path)) == expected(varied_document())


def test_memory_stays_at_one_chunk(tmp_path: Path) -> None:
    """With 4 KB reads, no chunk hands on more than a few KB of messages, however long the conversation."""
    document = export_document([conversation("8:big", [message(str(i), "y" * 200) for i in range(5000)])])
    path = write_export(tmp_path / "big.json", document)
    sizes = [len(e.entries) for e in Extractor(path, chunk_size=4096).events() if isinstance(e, MessageChunk)]
    assert sum(sizes) == 5000
    assert max(sizes) <= 4096 // 200 + 2


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(varied_document()).encode())
    assert flatten(Extractor(path)) == expected(varied_document())


@pytest.mark.parametrize(
    ("content", "kind", "fragment"),
    [
        (b"", "json", "empty"),
        (os.urandom(2048), "json", "not a Skype export"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 600, "json", "not a Skype export"),
        (b"[1, 2, 3]", "json", "is a list"),
    ],
)
def test_not_an_export(tmp_path: Path, content: bytes, kind: str, fragment: str) -> None:
    path = tmp_path / "input.tar"
    path.write_bytes(content)
    with pytest.raises(ExportError, match=fragment):
        Extractor(path)


def test_tar_without_messages_json(tmp_path: Path) -> None:
    path = tmp_path / "other.tar"
    with tarfile.open(path, "w") as tar:
        info = tarfile.TarInfo("notes.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    with pytest.raises(ExportError, match="no messages.json"):
        Extractor(path)


def test_missing_path_and_folder(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="no such file"):
        Extractor(tmp_path / "missing.tar")
    with pytest.raises(ExportError, match="folder"):
        Extractor(tmp_path)


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        ({"userId": "x"}, 'no "conversations"'),
        ({"conversations": {"a": 1}}, "is an object, not a list"),
    ],
)
def test_invalid_top_level(tmp_path: Path, document: Any, fragment: str) -> None:
    path = write_export(tmp_path / "bad.json", document)
    with pytest.raises(ExportError, match=fragment):
        Extractor(path).events()


def test_truncated_json_is_a_read_error(tmp_path: Path) -> None:
    data = json.dumps(varied_document()).encode()
    path = tmp_path / "cut.json"
    path.write_bytes(data[: len(data) // 2])
    seen: list[Any] = []
    with pytest.raises(ExportReadError, match="truncated"):
        Extractor(path, chunk_size=256).stream(seen.append)
    assert any(isinstance(e, MessageChunk) for e in seen), "what came before the cut was handed on"


def test_fingerprint_changes_with_content(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    path.write_bytes(b'{"conversations": []}' + b" " * 100)
    first = fingerprint(path)
    path.write_bytes(b'{"conversations": [] }' + b" " * 99)
    assert fingerprint(path) != first
    assert first.startswith("121:")


def test_a_failure_while_opening_leaves_no_file_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import psutil

    path = write_export(tmp_path / "e.tar.gz", export_document([conversation("8:a", [message("1")])]), kind="tar.gz")
    extractor = Extractor(path)  # inspected: the stream is opened only when it is read

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise tarfile.ReadError("the disk said no")

    monkeypatch.setattr(tarfile, "open", broken)
    before = {f.path for f in psutil.Process().open_files()}
    with pytest.raises(tarfile.ReadError):
        extractor.events()
    assert {f.path for f in psutil.Process().open_files()} == before
