"""The archive browser's models: conversations, one conversation's messages (a window of pages), search hits.

Each holds only what the reader job handed over; none reads a database.
`DisplayRole` is readable text; `RowRole` the row's dict as the archive gave it.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont

ROW_ROLE = Qt.ItemDataRole.UserRole + 1
QUIET_TYPES = ("Event/Call", "ThreadActivity", "RichText/Media_Call")  # events and calls: shown quieter
Index = QModelIndex | Any


def when(value: Any) -> str:
    """An ISO time as a person reads it: 2021-03-07 14:00."""
    text = str(value or "")
    return f"{text[:10]} {text[11:16]}".strip()


def who(row: dict[str, Any]) -> str:
    return str(row.get("sender_name") or row.get("sender_id") or "")


class _RowsModel(QAbstractListModel):
    """Rows as the archive gave them (dicts), one a line: `DisplayRole` is `text(row)`, `RowRole` the dict."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[dict[str, Any]] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(index.row())
        if role == ROW_ROLE:
            return self.rows[index.row()]
        return self.more_data(index.row(), role)

    def text(self, number: int) -> str:
        raise NotImplementedError

    def more_data(self, number: int, role: int) -> Any:
        return None


class ConversationListModel(_RowsModel):
    """Every conversation, the latest first: its name, then when it last spoke and how many messages it has."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.several_owners = False

    def set_rows(self, rows: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.several_owners = len({r["owner_id"] for r in rows if r["owner_id"]}) > 1
        self.endResetModel()

    def text(self, number: int) -> str:
        row = self.rows[number]
        name = row["display_name"] or row["id"]
        group = "group" if row["kind"] == "group" else "chat"
        owner = f", {row['owner_id']}'s" if self.several_owners and row["owner_id"] else ""
        return f"{name}\n{group}{owner} · {row['messages']:,} messages · {when(row['last_sent_at'])}"

    def more_data(self, number: int, role: int) -> Any:
        row = self.rows[number]
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{row['id']}\n{row['owner_id'] or 'a group thread, shared by its members'}"
        return None

    def find(self, owner_id: str, conversation_id: str) -> int:
        for number, row in enumerate(self.rows):
            if row["owner_id"] == owner_id and row["id"] == conversation_id:
                return number
        return -1


class MessageListModel(_RowsModel):
    """A window of one conversation's messages in time order, one row a message; older pages are put in front
    as the view asks for them (`prepend`), so a conversation of any length is read a page at a time."""

    MAX_ROWS = 1000  # held at once: scrolling a conversation of any length keeps memory (and layout) flat

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.conversation: tuple[str, str] | None = None
        self.at_start = False  # the oldest message is loaded
        self.at_end = True  # the newest message is loaded

    def show(self, conversation: tuple[str, str], rows: list[dict[str, Any]], at_start: bool, at_end: bool) -> None:
        self.beginResetModel()
        self.conversation, self.rows, self.at_start, self.at_end = conversation, rows, at_start, at_end
        self.endResetModel()

    def prepend(self, rows: list[dict[str, Any]], at_start: bool) -> None:
        """Older messages in front; as many of the newest go, past MAX_ROWS (read again when scrolled to)."""
        self.at_start = at_start
        if not rows:
            return
        self.beginInsertRows(QModelIndex(), 0, len(rows) - 1)
        self.rows = rows + self.rows
        self.endInsertRows()
        extra = len(self.rows) - self.MAX_ROWS
        if extra > 0:
            self.beginRemoveRows(QModelIndex(), len(self.rows) - extra, len(self.rows) - 1)
            del self.rows[-extra:]
            self.endRemoveRows()
            self.at_end = False

    def append(self, rows: list[dict[str, Any]], at_end: bool) -> int:
        """Newer messages at the end; as many of the oldest go, past MAX_ROWS; how many went."""
        self.at_end = at_end
        if not rows:
            return 0
        self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows) + len(rows) - 1)
        self.rows = self.rows + rows
        self.endInsertRows()
        extra = len(self.rows) - self.MAX_ROWS
        if extra > 0:
            self.beginRemoveRows(QModelIndex(), 0, extra - 1)
            del self.rows[:extra]
            self.endRemoveRows()
            self.at_start = False
        return max(extra, 0)

    def row_of(self, message_id: str) -> int:
        for number, row in enumerate(self.rows):
            if row["id"] == message_id:
                return number
        return -1

    def more_data(self, number: int, role: int) -> Any:
        """Calls and events, quieter: grey and italic."""
        if not str(self.rows[number].get("message_type") or "").startswith(QUIET_TYPES):
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            return QBrush(QColor("#666666"))
        if role == Qt.ItemDataRole.FontRole:
            font = QFont()
            font.setItalic(True)
            return font
        return None

    def text(self, number: int) -> str:
        """The message as a person reads it: a day line where the day changes, sender and time, its text, its
        files and reactions."""
        row = self.rows[number]
        lines = []
        day = str(row.get("sent_at") or "")[:10]
        if number == 0 or str(self.rows[number - 1].get("sent_at") or "")[:10] != day:
            lines.append(f"——— {day} ———")
        flags = " (edited)" if row.get("edited_at") else ""
        lines.append(f"{who(row)}  {when(row.get('sent_at'))[11:]}{flags}")
        lines.append("(deleted)" if row.get("deleted_at") else str(row.get("content_text") or ""))
        for attachment in row.get("attachments") or []:
            stored = "" if attachment.get("sha256") else " (not in the archive)"
            lines.append(f"📎 {attachment.get('file_name') or 'a file'}{stored}")
        reactions: dict[str, int] = {}
        for reaction in row.get("reactions") or []:
            reactions[reaction["emotion"]] = reactions.get(reaction["emotion"], 0) + 1
        if reactions:
            lines.append("  ".join(f"{emotion} {count}" for emotion, count in sorted(reactions.items())))
        return "\n".join(lines)


class SearchResultsModel(_RowsModel):
    """A search's hits, newest first: where and who and when, then the snippet with its matched words marked."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.names: dict[tuple[str, str], str] = {}  # conversation names, to say where a hit is

    def set_rows(self, rows: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def add_rows(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows) + len(rows) - 1)
            self.rows = self.rows + rows
            self.endInsertRows()

    def text(self, number: int) -> str:
        row = self.rows[number]
        place = self.names.get((row["owner_id"], row["conversation_id"])) or row["conversation_id"]
        return f"{place} · {who(row)} · {when(row['sent_at'])}\n{row['snippet']}"
