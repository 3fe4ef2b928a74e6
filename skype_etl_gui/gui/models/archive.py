"""The archive browser's models: conversations, one conversation's messages (a window of pages), search hits.

Each holds only what the reader job handed over; none reads a database.
`DisplayRole` is readable text; `RowRole` the row's dict as the archive gave it.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QImage

from ...archive import conversation_label, sender_label
from ...units import count_text
from ..thumbnails import is_image

ROW_ROLE = Qt.ItemDataRole.UserRole + 1
PARTS_ROLE = Qt.ItemDataRole.UserRole + 2  # a message's MessageParts
THUMBNAILS_ROLE = Qt.ItemDataRole.UserRole + 3  # a message's photos: {sha256: QImage, False or None}
MARKS = ("\x02", "\x03")  # around a snippet's matched words, as the window asks the archive for them
PARTS_KEY = "_parts"  # a message row's MessageParts, kept in the row once made
MAX_PHOTOS = 12  # thumbnails drawn under one message (an album lists every file)
QUIET_TYPES = ("Event/Call", "ThreadActivity", "RichText/Media_Call")  # events and calls: shown quieter
Index = QModelIndex | Any
REACTIONS = {  # Skype's reaction keys as people saw them (any other key is shown as it is)
    "like": "👍",
    "heart": "❤️",
    "laugh": "😆",
    "surprised": "😮",
    "sad": "😢",
    "angry": "😠",
    "yes": "👍",
    "no": "👎",
}


def when(value: Any) -> str:
    """An ISO time as a person reads it: 2021-03-07 14:00."""
    text = str(value or "")
    return f"{text[:10]} {text[11:16]}".strip()


@dataclass(frozen=True)
class MessageParts:
    """One message as drawn: `day` ("" on the same day as the message above), `head` (sender and time), `body`
    (its text; quoted lines start with "> "), `files` (a line and the attachment, each), `reactions` (one line or
    ""), `photos` (the sha256 of its stored photos, thumbnails drawn), `quiet` (a call or an event: drawn quieter)."""

    day: str
    head: str
    body: str
    files: tuple[tuple[str, dict[str, Any]], ...]
    reactions: str
    photos: tuple[str, ...]
    quiet: bool = False
    marks: tuple[tuple[int, int], ...] = ()  # (start, end) in `body`: words a search matched, highlighted

    def text(self) -> str:
        """The readable text (DisplayRole): every part a line or more, in order."""
        lines = [self.day] if self.day else []
        lines += [self.head, self.body, *(line for line, _ in self.files)]
        return "\n".join(lines + ([self.reactions] if self.reactions else []))


class _RowsModel(QAbstractListModel):
    """Rows as the archive gave them (dicts), one a line: `PARTS_ROLE` is `parts(row)` (what the delegate draws),
    `DisplayRole` its readable text, `RowRole` the dict."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[dict[str, Any]] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        if role == PARTS_ROLE:  # first: a delegate asks for it each time a view measures a row
            return self.parts(index.row())
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(index.row())
        if role == ROW_ROLE:
            return self.rows[index.row()]
        return self.more_data(index.row(), role)

    def parts(self, number: int) -> MessageParts:
        raise NotImplementedError

    def text(self, number: int) -> str:
        return self.parts(number).text()

    def more_data(self, number: int, role: int) -> Any:
        return None


class ConversationListModel(_RowsModel):
    """Every conversation, the latest first: its name, then when it last spoke and how many messages it has.

    `rows` are those the filter lets through (`set_filter`: a conversation's name, id or owner holds the text,
    whatever its case); `every` all of them. A new filter is one reset, however scattered the rows it keeps (a
    proxy model's signal for each run of rows took 65 ms of the GUI thread over 10,000 conversations).
    """

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.several_owners = False
        self.every: list[dict[str, Any]] = []
        self.filter_text = ""

    def set_rows(self, rows: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self.every = rows
        self.rows = self._kept(rows)
        self.several_owners = len({r["owner_id"] for r in rows if r["owner_id"]}) > 1
        self.endResetModel()

    def set_filter(self, text: str) -> None:
        text = text.strip().casefold()
        if text == self.filter_text:
            return
        narrower = self.filter_text in text  # what the filter let through before holds what it lets through now
        self.beginResetModel()
        self.filter_text = text
        self.rows = self._kept(self.rows if narrower else self.every)
        self.endResetModel()

    def _kept(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not self.filter_text:
            return list(rows)
        return [row for row in rows if self.filter_text in _found_by(row)]

    def parts(self, number: int) -> MessageParts:
        """Its name as the heading; below it, what it is and when it last spoke, and how many messages it has."""
        row = self.rows[number]
        held = row.get(PARTS_KEY)
        if held is None:
            group = "group" if row["kind"] == "group" else "chat"
            owner = f", {row['owner_id']}'s" if self.several_owners and row["owner_id"] else ""
            row[PARTS_KEY] = held = MessageParts(
                day="",
                head=conversation_label(row),
                body=" · ".join(  # a conversation without messages has no last time
                    part
                    for part in (f"{group}{owner}", count_text(row["messages"], "message"), when(row["last_sent_at"]))
                    if part
                ),
                files=(),
                reactions="",
                photos=(),
            )
        return held

    def more_data(self, number: int, role: int) -> Any:
        row = self.rows[number]
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{row['id']}\n{row['owner_id'] or 'a group thread, shared by its members'}"
        return None

    def find(self, owner_id: str, conversation_id: str, rows: list[dict[str, Any]] | None = None) -> int:
        """Its row among those shown (or among `rows`), -1 if not there."""
        for number, row in enumerate(self.rows if rows is None else rows):
            if row["owner_id"] == owner_id and row["id"] == conversation_id:
                return number
        return -1


def _found_by(row: dict[str, Any]) -> str:
    """What a conversation is filtered by: its name, id and owner, folded (made once)."""
    found = row.get("_filter")
    if found is None:
        row["_filter"] = found = f"{conversation_label(row)}\n{row['id']}\n{row['owner_id']}".casefold()
    return found


class _WindowModel(_RowsModel):
    """Rows of a long list held a window at a time: pages go in at either end, and as many go from the other end,
    past MAX_ROWS."""

    # held at once: scrolling a list of any length keeps memory and layout flat. A view measures every row it
    # holds again each time a page comes, calling into Python for each: while an import ran beside the browser,
    # 400 messages held made a page take up to 59 ms of the GUI thread, 200 up to 33 ms
    MAX_ROWS = 200

    def _put_in_front(self, rows: list[dict[str, Any]]) -> int:
        """`rows` before the first; how many of the last went."""
        self.beginInsertRows(QModelIndex(), 0, len(rows) - 1)
        self.rows = rows + self.rows
        self.endInsertRows()
        extra = len(self.rows) - self.MAX_ROWS
        if extra <= 0:
            return 0
        self.beginRemoveRows(QModelIndex(), len(self.rows) - extra, len(self.rows) - 1)
        del self.rows[-extra:]
        self.endRemoveRows()
        return extra

    def _put_at_end(self, rows: list[dict[str, Any]]) -> int:
        """`rows` after the last; how many of the first went."""
        self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows) + len(rows) - 1)
        self.rows = self.rows + rows
        self.endInsertRows()
        extra = len(self.rows) - self.MAX_ROWS
        if extra <= 0:
            return 0
        self.beginRemoveRows(QModelIndex(), 0, extra - 1)
        del self.rows[:extra]
        self.endRemoveRows()
        return extra


class MessageListModel(_WindowModel):
    """A window of one conversation's messages in time order, one row a message; older pages are put in front
    as the view asks for them (`prepend`), so a conversation of any length is read a page at a time."""

    THUMBNAILS_HELD = 200  # decoded thumbnails kept (at most 240 x 160 each: under 30 MB)

    thumbnail_wanted = Signal(str)  # a photo's sha256: its thumbnail is drawn and not here yet

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.thumbnails: OrderedDict[str, QImage | bool] = OrderedDict()
        self.asked: set[str] = set()  # thumbnails asked for and not here yet
        self.conversation: tuple[str, str] | None = None
        self.at_start = False  # the oldest message is loaded
        self.at_end = True  # the newest message is loaded

    def show(self, conversation: tuple[str, str], rows: list[dict[str, Any]], at_start: bool, at_end: bool) -> None:
        self.beginResetModel()
        self.conversation, self.rows, self.at_start, self.at_end = conversation, rows, at_start, at_end
        self.asked.clear()  # what was asked for another page is dropped by the presenter: asked again if drawn
        self.endResetModel()

    def prepend(self, rows: list[dict[str, Any]], at_start: bool) -> None:
        """Older messages in front; as many of the newest go, past MAX_ROWS (read again when scrolled to)."""
        self.at_start = at_start
        if rows and self._put_in_front(rows):
            self.at_end = False

    def append(self, rows: list[dict[str, Any]], at_end: bool) -> int:
        """Newer messages at the end; as many of the oldest go, past MAX_ROWS; how many went."""
        self.at_end = at_end
        if not rows:
            return 0
        extra = self._put_at_end(rows)
        if extra:
            self.at_start = False
        return extra

    def row_of(self, message_id: str) -> int:
        for number, row in enumerate(self.rows):
            if row["id"] == message_id:
                return number
        return -1

    def more_data(self, number: int, role: int) -> Any:
        """The thumbnails; calls and events quieter: grey and italic."""
        if role == THUMBNAILS_ROLE:
            return self.thumbnails_of(number)
        if not self.parts(number).quiet:
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            return QBrush(QColor("#666666"))
        if role == Qt.ItemDataRole.FontRole:
            font = QFont()
            font.setItalic(True)
            return font
        return None

    def parts(self, number: int) -> MessageParts:
        """The message as a person reads it, in the parts a view draws: a day line where the day changes, sender
        and time, its text, its files and reactions."""
        row = self.rows[number]
        day = str(row.get("sent_at") or "")[:10]
        new_day = number == 0 or str(self.rows[number - 1].get("sent_at") or "")[:10] != day
        held = row.get(PARTS_KEY)
        if held is not None and bool(held.day) == new_day:
            return held  # a view asks many times a layout: the same parts, made once (and a delegate's key)
        flags = " (edited)" if row.get("edited_at") else ""
        files = []
        for attachment in row.get("attachments") or []:
            stored = "" if attachment.get("sha256") else " (not in the archive)"
            files.append((f"📎 {attachment.get('file_name') or 'a file'}{stored}", attachment))
        reactions: dict[str, int] = {}
        for reaction in row.get("reactions") or []:
            reactions[reaction["emotion"]] = reactions.get(reaction["emotion"], 0) + 1
        row[PARTS_KEY] = parts = MessageParts(
            day=f"——— {day} ———" if new_day else "",
            head=f"{sender_label(row)}  {when(row.get('sent_at'))[11:]}{flags}",
            body="(deleted)" if row.get("deleted_at") else str(row.get("content_text") or ""),
            files=tuple(files),
            reactions="  ".join(
                f"{REACTIONS.get(emotion, emotion)} {count}" for emotion, count in sorted(reactions.items())
            ),
            photos=tuple(a["sha256"] for a in row.get("attachments") or [] if is_image(a))[:MAX_PHOTOS],
            quiet=str(row.get("message_type") or "").startswith(QUIET_TYPES),
        )
        return parts

    # --- thumbnails ---------------------------------------------------------------------------------------
    def thumbnails_of(self, number: int) -> dict[str, QImage | bool | None]:
        """The thumbnails of a message's photos: a QImage, False (it cannot be shown) or None (not here yet:
        asked for, once, by `thumbnail_wanted`)."""
        found: dict[str, QImage | bool | None] = {}
        for sha256 in self.parts(number).photos:
            if sha256 in self.thumbnails:
                self.thumbnails.move_to_end(sha256)
                found[sha256] = self.thumbnails[sha256]
                continue
            if sha256 not in self.asked:
                self.asked.add(sha256)
                self.thumbnail_wanted.emit(sha256)
            found[sha256] = None
        return found

    def set_thumbnail(self, sha256: str, image: QImage | None) -> None:
        """A thumbnail came (None: the file cannot be shown): kept (the least recently drawn go past
        THUMBNAILS_HELD), and the messages showing it drawn again."""
        self.asked.discard(sha256)
        self.thumbnails[sha256] = image if image is not None else False
        while len(self.thumbnails) > self.THUMBNAILS_HELD:
            self.thumbnails.popitem(last=False)
        for number, row in enumerate(self.rows):
            if any(a.get("sha256") == sha256 for a in row.get("attachments") or []):
                index = self.index(number, 0)
                self.dataChanged.emit(index, index, [THUMBNAILS_ROLE])


class SearchResultsModel(_WindowModel):
    """A window of a search's hits, newest first: where and who and when, then the snippet with its matched words
    marked. Pages come at the end as the view is scrolled down (`add_rows`) and in front again as it is scrolled
    back up (`put_before`); `first` is the place of the first row among all the hits."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.names: dict[tuple[str, str], str] = {}  # conversation names, to say where a hit is
        self.first = 0
        self.at_end = True  # the last hit is here
        self.seen = 0  # hits read so far: how far the list has been scrolled
        self.all_seen = False  # the last hit was read (it may have gone since, scrolling back up)

    def set_rows(self, rows: list[dict[str, Any]], at_end: bool = True) -> None:
        self.beginResetModel()
        self.rows, self.first, self.at_end, self.seen, self.all_seen = rows, 0, at_end, len(rows), at_end
        self.endResetModel()

    def add_rows(self, rows: list[dict[str, Any]], at_end: bool) -> int:
        """The next hits at the end; as many of the first go, past MAX_ROWS; how many went."""
        self.at_end = at_end
        self.all_seen = self.all_seen or at_end
        self.seen = max(self.seen, self.first + len(self.rows) + len(rows))
        extra = self._put_at_end(rows) if rows else 0
        self.first += extra
        return extra

    def put_before(self, rows: list[dict[str, Any]]) -> None:
        """The hits before the first one held, in front again; as many of the last go, past MAX_ROWS."""
        if not rows:
            return
        self.first -= len(rows)
        if self._put_in_front(rows):
            self.at_end = False

    def text(self, number: int) -> str:
        parts = self.parts(number)
        return f"{parts.head}\n{self.rows[number]['snippet'].replace(MARKS[0], '[').replace(MARKS[1], ']')}"

    def parts(self, number: int) -> MessageParts:
        """Where and who and when as the heading; the snippet as the text, its matched words marked."""
        row = self.rows[number]
        held = row.get(PARTS_KEY)
        if held is not None:
            return held
        place = self.names.get((row["owner_id"], row["conversation_id"])) or row["conversation_id"]
        pieces = str(row["snippet"]).replace(MARKS[1], MARKS[0]).split(MARKS[0])
        body, marks = "", []
        for number_, piece in enumerate(pieces):  # odd pieces were between the marks
            if number_ % 2:
                marks.append((len(body), len(body) + len(piece)))
            body += piece
        row[PARTS_KEY] = parts = MessageParts(
            day="",
            head=f"{place} · {sender_label(row)} · {when(row['sent_at'])}",
            body=body,
            files=(),
            reactions="",
            photos=(),
            marks=tuple(marks),
        )
        return parts
