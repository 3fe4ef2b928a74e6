"""What an export holds, read in one pass and stored nowhere: conversations, messages, first and last time, size.

`python -m skype_etl_gui.etl.extract.survey EXPORT` prints it as JSON lines (what
is known so far, a few times a second, then the whole): the window runs it as a
process of its own, because parsing in the window's process would hold the
interpreter lock for tens of milliseconds at a time.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from ..errors import ExportError, ExportReadError
from .events import ConversationEnd, MessageChunk
from .extractor import Extractor
from .media import MessagesPipe, OnePass, media_summary
from .sniff import inspect_export, no_messages_json

REPORT_EVERY_S = 0.25


def survey(
    path: str,
    stop: threading.Event | None = None,
    report: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Stream the export once; `report` hears what is known so far a few times a second."""
    source = inspect_export(path, stop)
    found: dict[str, Any] = {
        "path": path,
        "conversations": 0,
        "messages": 0,
        "first": None,
        "last": None,
        "size": source.size,
        "kind": source.kind,
        "complete": False,
        "media_files": 0,
        "media_bytes": 0,
    }
    last_report = time.monotonic()
    telling = threading.Lock()  # a .tar.gz's media are counted by a thread of their own

    def tell(percent: float) -> None:
        """What is known so far, to `report`, at most every REPORT_EVERY_S."""
        nonlocal last_report
        with telling:
            now = time.monotonic()
            if report is not None and now - last_report >= REPORT_EVERY_S:
                last_report = now
                report(dict(found, percent=percent))

    def sink(event: Any) -> None:
        if isinstance(event, ConversationEnd):
            found["conversations"] += 1
        elif isinstance(event, MessageChunk):
            found["messages"] += len(event.entries)
            for entry in event.entries:
                moment = entry.get("originalarrivaltime") if isinstance(entry, dict) else None
                if isinstance(moment, str) and moment[:1].isdigit():
                    if found["first"] is None or moment < found["first"]:
                        found["first"] = moment
                    if found["last"] is None or moment > found["last"]:
                        found["last"] = moment
        tell(percent())

    if source.kind == "tar.gz":
        one = OnePass(source, stop)
        percent = lambda: 100 * one.bytes_read / max(source.size, 1)  # noqa: E731 - of the file, media and all
        _once(one, found, sink, lambda: tell(percent()))
    else:
        extractor = Extractor(path, source=source, stop=stop)
        percent = lambda: 100 * extractor.bytes_read / max(extractor.bytes_total, 1)  # noqa: E731
        extractor.stream(sink)
        found["media_files"], found["media_bytes"] = media_summary(source, stop)  # from the headers (or folder)
    found["complete"] = True
    return found


def _once(one: OnePass, found: dict[str, Any], sink: Callable[[Any], None], counted: Callable[[], None]) -> None:
    """A .tar.gz read once, as the import reads it: messages.json parsed here as it comes through a pipe, the
    media counted by the thread that reads the file (from each member's header: their bytes are only passed)."""
    failures: list[BaseException] = []
    with MessagesPipe(one.source.path) as pipe:

        def read() -> None:
            try:
                for entry in one:
                    if entry.kind == "messages":
                        pipe.pump(entry)
                    elif entry.kind == "file":
                        found["media_files"] += 1
                        found["media_bytes"] += entry.size
                        counted()
            except BaseException as exc:  # noqa: BLE001 - raised by the parsing thread, below
                failures.append(exc)
            finally:
                pipe.close_write()  # without messages.json: the parser sees the end

        reader = threading.Thread(target=read, name="survey-read", daemon=True)
        reader.start()
        try:
            Extractor(one.source.path, source=pipe.source(0), stop=one.stop).stream(sink)
        except (ExportError, ExportReadError) as exc:
            pipe.close_read()
            reader.join()
            if not one.messages_found:
                raise no_messages_json(one.source.path) from exc
            raise (failures[0] if failures else exc) from None
        pipe.close_read()  # what follows the JSON in its member is passed
        reader.join()
    if failures:
        raise failures[0]


def main(argv: list[str]) -> int:
    def line(data: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(data) + "\n")
        sys.stdout.flush()

    try:
        line(survey(argv[0], report=line))
    except (ExportError, ExportReadError) as exc:
        line({"error": str(exc), "rejected": isinstance(exc, ExportError)})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
