"""A realistic synthetic Skype export, for demos, tests and benchmarks.

Every message type Skype exports hold appears, with the edge cases real exports have:
null names and properties, repeated ids with versions, varying timestamp
fractions, bare ampersands, broken markup, emoji, media present and expired.
The JSON is written straight to disk, message by message, so a sample of
millions of messages needs no more memory than a small one.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import random
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

USER_ID = "8:live:.cid.5a1b2c3d4e5f6a7b"
PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a5d3a8"
    "b40000000049454e44ae426082"
)

WORDS = (
    "hello there how are you today meeting lunch tomorrow project deadline "
    "photo trip weekend call later thanks great idea sure maybe coffee train "
    "holiday birthday party code review deploy server music film book"
).split()

PEOPLE = [
    ("8:live:anna.tamm", "Anna Tamm"),
    ("8:bob_smith", "Bob Smith"),
    ("8:live:.cid.9f8e7d6c5b4a3f2e", "Chloé Dubois"),
    ("8:live:dmitri_k", "Дмитрий К."),
    ("8:eve.m", "Eve M"),
    ("8:live:li.wei", "李伟"),
]
SELF_NAME = "Sample User"


@dataclass
class SampleStats:
    """What a generated sample holds, for tests that check an import against it."""

    conversations: int = 0
    messages: int = 0  # message entries written, duplicates included
    unique_messages: int = 0  # distinct (conversation, id) with an id
    without_id: int = 0
    media_files: int = 0


def _ts(moment: datetime, digits: int) -> str:
    base = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if digits == 0:
        return base + "Z"
    frac = f"{moment.microsecond:06d}0"[:digits]
    return f"{base}.{frac}Z"


def _sentence(rng: random.Random, low: int = 3, high: int = 12) -> str:
    # rng.choice(WORDS) for rng.randint(low, high) words, drawn as those draw (the same words for a seed as
    # before) without their calls' overhead: a million-message sample spent a third of its time in them
    below, count = rng._randbelow, len(WORDS)  # type: ignore[attr-defined]
    return " ".join([WORDS[below(count)] for _ in range(low + below(high - low + 1))])


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.clock = datetime(2019, 3, 1, 8, 0, tzinfo=timezone.utc)
        self.next_id = 1_550_000_000_000
        self.media: list[tuple[str, str, bytes]] = []

    def tick(self) -> datetime:
        self.clock += timedelta(seconds=self.rng.randint(1, 900), microseconds=self.rng.randint(0, 999_999))
        return self.clock

    def new_id(self) -> str:
        self.next_id += self.rng.randint(1, 5000)
        return str(self.next_id)

    # --- content of each family ---------------------------------------------
    def rich_text(self) -> str:
        rng = self.rng
        kind = rng.random()
        text = _sentence(rng)
        if kind < 0.55:
            return text
        if kind < 0.62:
            return f"{text} &amp; {rng.choice(WORDS)} &lt;3 &quot;ok&quot; it&apos;s fine & done"
        if kind < 0.68:
            return f'see <a href="https://example.com/{rng.choice(WORDS)}?a=1&amp;b=2">https://example.com/{rng.choice(WORDS)}</a>'
        if kind < 0.73:
            return f'{text} <ss type="smile">:)</ss> <ss type="laugh">:D</ss>'
        if kind < 0.77:
            pid, name = rng.choice(PEOPLE)
            return f'<at id="{pid}">{name}</at> {text}'
        if kind < 0.81:
            pid, name = rng.choice(PEOPLE)
            return (
                f'<quote author="{pid}" authorname="{name}" timestamp="1594056032" '
                f'conversation="19:abc@thread.skype" messageid="1594056032575" cuid="1">'
                f"<legacyquote>[10:00:32] {name}: </legacyquote>{_sentence(rng)}"
                f"<legacyquote>\n\n&lt;&lt;&lt; </legacyquote></quote>{text}"
            )
        if kind < 0.84:
            return f"<b>{text}</b> <i>{rng.choice(WORDS)}</i> <s>old</s> <u>new</u>"
        if kind < 0.86:
            return f'Edited previous message: {text}<e_m ts="1594056032" ts_ms="1594056032575" a="live:x" t="61"/>'
        if kind < 0.89:
            return f"{text} 😀👍🏽 \U0001f389"
        if kind < 0.92:
            return f"{text}\n{_sentence(rng)}\n\t{_sentence(rng)}"
        if kind < 0.94:
            return "<pre>def f():\n    return 1 &lt; 2</pre>"
        if kind < 0.96:
            return f'<flag country="ee"></flag> {text}'
        if kind < 0.98:
            return f"<b>unclosed {text} <i>tags & bare < signs"
        return " ".join(_sentence(rng, 20, 40) for _ in range(rng.randint(5, 30)))

    def uri_object(self, mtype: str) -> str:
        rng = self.rng
        doc = "0-weu-d3-" + "".join(rng.choice("0123456789abcdef") for _ in range(32))
        kinds = {
            "RichText/UriObject": ("Picture.1", "photo", "png", "image/png"),
            "RichText/Media_GenericFile": ("File.1", "file", "pdf", "application/pdf"),
            "RichText/Media_Video": ("Video.1/Message.1", "video", "mp4", "video/mp4"),
            "RichText/Media_AudioMsg": ("Audio.1/Message.1", "voice message", "m4a", "audio/mp4"),
            "RichText/Media_FlikMsg": ("Video.1/Flik.1", "Flik", "mp4", "video/mp4"),
        }
        utype, word, ext, mime = kinds[mtype]
        name = f"{rng.choice(WORDS)}_{rng.randint(1, 999)}.{ext}"
        size = rng.randint(1000, 5_000_000)
        uri = f"https://api.asm.skype.com/v1/objects/{doc}"
        if rng.random() < 0.3:  # only some media survive in the export
            self.media.append((doc, ext, mime.encode()))
        file_size = f'<FileSize v="{size}"/>' if rng.random() < 0.5 else f'<FileSize v="{size}"></FileSize>'
        return (
            f'<URIObject uri="{uri}" url_thumbnail="{uri}/views/imgt1" type="{utype}" doc_id="{doc}">'
            f'To view this {word}, go to: <a href="https://login.skype.com/login/sso?go=webclient.xmm&amp;docid={doc}">'
            f"https://login.skype.com/login/sso?go=webclient.xmm&amp;docid={doc}</a>"
            f'<OriginalName v="{name}"/>{file_size}<meta type="photo" originalName="{name}"/></URIObject>'
        )

    def call(self) -> str:
        rng = self.rng
        kind = rng.choice(["started", "ended", "missed"])
        pid, name = rng.choice(PEOPLE)
        duration = f"<duration>{rng.uniform(1, 3600):.2f}</duration>" if kind == "ended" else ""
        return (
            f'<partlist type="{kind}" alt="" callId="{rng.randint(1, 10**9)}">'
            f'<part identity="{pid[2:]}"><name>{name}</name>{duration}</part>'
            f'<part identity="live:.cid.5a1b2c3d4e5f6a7b"><name>{SELF_NAME}</name>{duration}</part></partlist>'
        )

    def member_change(self, delete: bool) -> str:
        rng = self.rng
        who = rng.sample(PEOPLE, rng.randint(1, 2))
        initiator = who[0][0] if delete and rng.random() < 0.5 else USER_ID
        tag = "deletemember" if delete else "addmember"
        targets = "".join(f"<target>{pid}</target>" for pid, _ in who)
        return f"<{tag}><eventtime>1594056032575</eventtime><initiator>{initiator}</initiator>{targets}</{tag}>"

    def topic(self, tag: str) -> str:
        return (
            f"<{tag}><eventtime>1594056032575</eventtime><initiator>{USER_ID}</initiator>"
            f"<value>{_sentence(self.rng, 1, 4)} &amp; co</value></{tag}>"
        )

    def content_for(self, mtype: str) -> str:
        rng = self.rng
        if mtype == "RichText":
            return self.rich_text()
        if mtype == "Text":
            return _sentence(rng)
        if (
            mtype.startswith("RichText/Media_")
            and mtype
            in (
                "RichText/Media_GenericFile",
                "RichText/Media_Video",
                "RichText/Media_AudioMsg",
                "RichText/Media_FlikMsg",
            )
            or mtype == "RichText/UriObject"
        ):
            return self.uri_object(mtype)
        if mtype == "RichText/Media_Card":
            import base64

            card = json.dumps(
                {"type": "message/card", "attachments": [{"content": {"title": "Card", "text": "Hello card"}}]}
            )
            encoded = base64.b64encode(card.encode()).decode()
            return f'<URIObject type="SWIFT.1" url_thumbnail="x"><Swift b64="{encoded}"/></URIObject>'
        if mtype == "RichText/Location":
            return (
                '<location isUserLocation="0" latitude="59436810" longitude="24740695" timeStamp="1594056032" '
                'address="Tallinn, Estonia" shortAddress="Tallinn"><a href="https://www.bing.com/maps?cp=59.43681~24.740695">'
                "Tallinn, Estonia</a></location>"
            )
        if mtype == "RichText/Contacts":
            return (
                '<contacts><c t="s" s="live:anna.tamm" f="Anna Tamm"></c>'
                '<c t="s" s="bob_smith" f="Bob Smith"></c></contacts>'
            )
        if mtype == "Event/Call":
            return self.call()
        if mtype == "ThreadActivity/AddMember":
            return self.member_change(delete=False)
        if mtype == "ThreadActivity/DeleteMember":
            return self.member_change(delete=True)
        if mtype == "ThreadActivity/TopicUpdate":
            return self.topic("topicupdate")
        if mtype == "ThreadActivity/PictureUpdate":
            return self.topic("pictureupdate")
        if mtype == "Notice":
            return json.dumps(
                [{"attachments": [{"content": {"title": "Skype notice", "text": "Skype is retiring in May 2025."}}]}]
            )
        if mtype == "PopCard":
            return json.dumps([{"content": {"title": "Welcome", "text": "Say hi to your new contact"}}])
        if mtype == "Translation":
            return json.dumps({"originalText": "tere", "translatedText": "hello"})
        if mtype == "EndToEndEncryption/EncryptedText":
            return "AAECAwQFBgcICQ=="
        if mtype == "RichText/Media_Album":
            return '<URIObject type="Picture.1/Album"></URIObject>'
        if mtype == "RichText/ScheduledCallInvite":
            return "<Scheduled><Title>Weekly sync</Title><StartTime>1594056032</StartTime></Scheduled>"
        if mtype == "Poll":
            return '{"question": "Lunch?", "options": ["yes", "no"]}'
        return f"<future>{_sentence(rng, 1, 3)}</future>"

    TYPES = [
        ("RichText", 8000),
        ("Text", 200),
        ("RichText/UriObject", 350),
        ("RichText/Media_GenericFile", 120),
        ("RichText/Media_Video", 40),
        ("RichText/Media_AudioMsg", 40),
        ("RichText/Media_FlikMsg", 10),
        ("RichText/Media_Card", 10),
        ("RichText/Media_Album", 5),
        ("RichText/Media_CallRecording", 3),
        ("RichText/ScheduledCallInvite", 3),
        ("RichText/Files", 3),
        ("RichText/Location", 10),
        ("RichText/Contacts", 10),
        ("Event/Call", 300),
        ("ThreadActivity/AddMember", 40),
        ("ThreadActivity/DeleteMember", 20),
        ("ThreadActivity/TopicUpdate", 20),
        ("ThreadActivity/PictureUpdate", 5),
        ("ThreadActivity/HistoryDisclosedUpdate", 3),
        ("ThreadActivity/JoiningEnabledUpdate", 3),
        ("Notice", 5),
        ("PopCard", 5),
        ("Translation", 3),
        ("InviteFreeRelationshipChanged/Initialized", 5),
        ("Poll", 2),
        ("Event/BingBot", 2),
        ("EndToEndEncryption/EncryptedText", 3),
        ("ThreadActivity/E2EEHandshakeInvite", 2),
        ("SomeFuture/UnknownType", 3),
    ]
    TYPE_NAMES = [name for name, _ in TYPES]
    TYPE_CUM_WEIGHTS = list(itertools.accumulate(weight for _, weight in TYPES))

    def message(self, conv_id: str, group: bool) -> dict[str, Any]:
        rng = self.rng
        mtype = rng.choices(self.TYPE_NAMES, cum_weights=self.TYPE_CUM_WEIGHTS)[0]  # as weights= draws, once summed
        if (
            mtype.startswith("ThreadActivity/")
            and mtype.endswith("Update")
            and mtype
            not in (
                "ThreadActivity/TopicUpdate",
                "ThreadActivity/PictureUpdate",
            )
        ):
            content = self.topic(mtype.split("/")[1].lower())
        else:
            content = self.content_for(mtype)
        moment = self.tick()
        sender, name = (USER_ID, SELF_NAME) if rng.random() < 0.4 else rng.choice(PEOPLE)
        if mtype.startswith("ThreadActivity/") and group and rng.random() < 0.5:
            sender = conv_id  # system events are "from" the thread itself
        props: dict[str, Any] | None = None
        roll = rng.random()
        if roll < 0.05:
            props = {"edittime": str(int(moment.timestamp() * 1000) + 5000)}
        elif roll < 0.07:
            props = {"deletetime": str(int(moment.timestamp() * 1000) + 5000)}
            content = ""
        elif roll < 0.09:
            props = {
                "emotions": [{"key": "heart", "users": [{"mri": PEOPLE[0][0], "time": 1594056032575, "value": "1"}]}]
            }
        elif roll < 0.10:
            props = {"isserversidegenerated": True}
        elif roll < 0.11:
            props = {"urlpreviews": json.dumps([{"url": "https://example.com", "title": "Example"}])}
        msg_id = self.new_id()
        return {
            "id": msg_id,
            "displayName": name if rng.random() < 0.5 else None,
            "originalarrivaltime": _ts(moment, rng.choice([3, 3, 3, 3, 2, 7, 0])),
            "messagetype": mtype,
            "version": int(msg_id) if rng.random() < 0.8 else float(msg_id),
            "content": content,
            "conversationid": conv_id,
            "from": sender,
            "properties": props,
            "amsreferences": None,
        }


def _conversations(gen: _Generator, total: int) -> Iterator[tuple[dict[str, Any], int]]:
    """(header, message count) for a spread of conversation sizes adding up to total."""
    rng = gen.rng
    headers: list[dict[str, Any]] = []
    for i, (pid, name) in enumerate(PEOPLE):
        headers.append({"id": pid, "displayName": name if i % 3 else None, "threadProperties": None})
    for i in range(4):
        members = [USER_ID] + [p for p, _ in rng.sample(PEOPLE, 3)]
        encoded = json.dumps(members if i % 2 else [{"MemberMri": m, "Role": "User"} for m in members])
        hexid = "".join(rng.choice("0123456789abcdef") for _ in range(32))
        headers.append(
            {
                "id": f"19:{hexid}@thread.skype",
                "displayName": f"Group {i} & friends",
                "threadProperties": {"membercount": len(members), "topic": f"Group {i} & friends", "members": encoded},
            }
        )
    headers.append(
        {
            "id": "19:I3NreXBlOmFiYw==@p2p.thread.skype",
            "displayName": "Old p2p group",
            "threadProperties": {"membercount": 2, "topic": "Old p2p group", "members": [USER_ID, PEOPLE[1][0]]},
        }
    )
    headers.append({"id": "28:concierge", "displayName": "Skype Concierge", "threadProperties": None})
    headers.append({"id": "48:calllogs", "displayName": None, "threadProperties": None})
    headers.append({"id": "8:live:empty.friend", "displayName": "Nobody Talks", "threadProperties": None})
    weights = [rng.uniform(0.5, 3.0) for _ in headers]
    weights[-1] = 0.0  # one empty conversation
    scale = sum(weights)
    counts = [int(total * w / scale) for w in weights]
    counts[0] += total - sum(counts)
    for header, count in zip(headers, counts, strict=False):
        header["version"] = 1594056032575.0
        header["properties"] = {
            "conversationblocked": False,
            "lastimreceivedtime": "2020-07-06T17:20:32.575Z",
            "consumptionhorizon": "1594056032575;1594056032575;4321987654321",
            "conversationstatus": None,
        }
        yield header, count


def write_messages_json(out: io.TextIOBase, total: int, seed: int, gen: _Generator | None = None) -> SampleStats:
    """Write a messages.json of `total` message entries to `out`."""
    gen = gen or _Generator(seed)
    stats = SampleStats()
    out.write(json.dumps({"userId": USER_ID, "exportDate": "2025-04-30T18:22"})[:-1])
    out.write(', "conversations": [')
    first_conv = True
    for header, count in _conversations(gen, total):
        stats.conversations += 1
        out.write(("" if first_conv else ", ") + json.dumps(header)[:-1] + ', "MessageList": [')
        first_conv = False
        group = header["threadProperties"] is not None
        previous: dict[str, Any] | None = None
        for n in range(count):
            msg = gen.message(header["id"], group)
            roll = gen.rng.random()
            if roll < 0.0015:
                msg = dict(msg, id=None)  # a record the importer must skip and report
                stats.without_id += 1
            elif previous is not None and roll < 0.01:
                # an edit: the same id again with a higher version
                msg = dict(previous, version=previous["version"] + 1000, content=previous["content"] + " (edited)")
            else:
                stats.unique_messages += 1
            previous = msg if msg["id"] is not None else previous
            out.write(("" if n == 0 else ", ") + json.dumps(msg, ensure_ascii=n % 2 == 0))
            stats.messages += 1
        out.write("]}")
    out.write("]}")
    return stats


def write_sample(path: str | os.PathLike[str], messages: int = 1000, seed: int = 1, media: bool = True) -> SampleStats:
    """Write a sample export to `path`: a tar (or .tar.gz/.tgz, or a bare .json by suffix)."""
    target = Path(path)
    gen = _Generator(seed)
    if target.suffix == ".json":
        with open(target, "w", encoding="utf-8") as out:
            return write_messages_json(out, messages, seed, gen)
    mode = "w:gz" if target.name.endswith((".tar.gz", ".tgz")) else "w"
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        json_path = Path(tmp) / "messages.json"
        with open(json_path, "w", encoding="utf-8") as out:
            stats = write_messages_json(out, messages, seed, gen)
        with tarfile.open(target, mode) as tar:
            tar.add(json_path, arcname="messages.json")
            endpoints = json.dumps({"endpoints": []}).encode()
            _add_bytes(tar, "endpoints.json", endpoints)
            if media:
                for doc, ext, mime in gen.media[:200]:
                    _add_bytes(tar, f"media/{doc}.1.{ext}", PNG_1PX)
                    sidecar = {
                        "expiry_date": "2025-12-31",
                        "filename": f"{doc}.1.{ext}",
                        "contents": {"1": {"type": mime.decode()}},
                    }
                    _add_bytes(tar, f"media/{doc}.json", json.dumps(sidecar).encode())
                    stats.media_files += 1
    return stats


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 1_745_000_000
    tar.addfile(info, io.BytesIO(data))
