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
from .media import media_summary

REPORT_EVERY_S = 0.25


def survey(
    path: str,
    stop: threading.Event | None = None,
    report: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Stream the export once; `report` hears what is known so far a few times a second."""
    extractor = Extractor(path, stop=stop)
    found: dict[str, Any] = {
        "path": path,
        "conversations": 0,
        "messages": 0,
        "first": None,
        "last": None,
        "size": extractor.source.size,
        "kind": extractor.source.kind,
        "complete": False,
    }
    last_report = time.monotonic()

    def tell(**also: Any) -> None:
        """What is known so far (and `also`), to `report`, at most every REPORT_EVERY_S."""
        nonlocal last_report
        now = time.monotonic()
        if report is not None and now - last_report >= REPORT_EVERY_S:
            last_report = now
            report(dict(found, **also))

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
        tell(percent=100 * extractor.bytes_read / max(extractor.bytes_total, 1))

    extractor.stream(sink)
    counting = extractor.source.kind == "tar.gz"  # read through again: what messages.json holds is told first
    if counting and report is not None:
        report(dict(found, percent=100, media_counting=True))

    def counted(files: int, size: int) -> None:
        tell(percent=100, media_counting=True, media_files=files, media_bytes=size)

    found["media_files"], found["media_bytes"] = media_summary(extractor.source, stop, counted if counting else None)
    found["complete"] = True
    return found


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
