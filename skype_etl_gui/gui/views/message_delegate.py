"""How a message is drawn in the archive browser: a day line, sender and time, the text with its quotes set off and
its links clickable, its files (a click offers "Save as…"), thumbnails of its photos, its reactions. The browser's
other lists (conversations, search hits) are drawn by it too, from the MessageParts their models give.

The text is laid out by a QTextDocument, built once per message and kept (the
last LAYOUTS_HELD), so scrolling lays nothing out twice; a new width lays the
same document out again. Thumbnails come from the model (decoded off the GUI
thread); until one is here its box is drawn empty, at the size it will have,
so nothing moves when it comes.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QEvent, QModelIndex, QPersistentModelIndex, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QColor,
    QFont,
    QFontMetrics,
    QImage,
    QPainter,
    QPalette,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
)
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from ..models.archive import PARTS_ROLE, THUMBNAILS_ROLE, MessageParts
from ..thumbnails import BOX

QUOTED = 1  # a text block's user state: a quoted line
QUOTE_INDENT = 12  # pixels: a quote's lines, in from the message's
QUOTE_BAR = 3  # pixels: the bar to a quote's left
GAP = 6  # pixels: between thumbnails, and around a message
LAYOUTS_HELD = 1500  # more than the model holds: a view lays out every row, in order, and an LRU must not cycle
FILE_LINK = "attachment:"  # a file line's anchor: attachment:<its index among the message's files>
LINK = re.compile(r"\b(?:https?://|www\.)[^\s<>\"]+", re.I)
LINK_TAIL = ".,;:!?'\")]}»"  # ends a sentence, not the link: "see https://x.org/a." links https://x.org/a
QUIET = QColor("#666666")
LINK_COLOR = QColor("#1a5fb4")
HIGHLIGHT = QColor("#fff3a0")  # behind the words a search matched


def plain(parts: MessageParts) -> bool:
    """A message with no quote, link or file: its text is drawn as it is, no document laid out."""
    body = parts.body
    return (
        not parts.files
        and not parts.marks
        and not body.startswith(">")
        and "\n>" not in body
        and LINK.search(body) is None
    )


def links(text: str) -> list[tuple[int, int, str]]:
    """The links in `text`: (start, end, the URL to open); www.… opens as https://www.…"""
    found = []
    for match in LINK.finditer(text):
        url = match.group(0).rstrip(LINK_TAIL)
        if url.count("(") > url.count(")") and match.group(0)[len(url) :].startswith(")"):
            url += ")"  # a link of Wikipedia's kind: …/Foo_(bar)
        if len(url) > 8:
            found.append((match.start(), match.start() + len(url), url if "://" in url else "https://" + url))
    return found


@dataclass
class Layout:
    """One message laid out at one width: the text's document, where the thumbnails go, the height."""

    parts: MessageParts
    width: int  # what the text is laid out to
    document: QTextDocument | None  # None: plain text (no quote, link or file), drawn as it is
    text_top: int  # below the day line and the heading
    photos_top: int  # below the text
    boxes: list[tuple[str, QRect]]  # each photo's sha256 and its box (relative to the message's top left)
    height: int


class MessageDelegate(QStyledItemDelegate):
    link_clicked = Signal(str)  # a link in a message's text: its URL
    file_clicked = Signal(object)  # a stored file's line: the attachment (a dict)

    def __init__(self, parent: Any = None, one_line: bool = False) -> None:
        """`one_line`: the text is one line, cut short with "…" where it is too long, so every row of a list of
        plain rows is as high as the others and the view may measure one (`setUniformItemSizes`)."""
        super().__init__(parent)
        self.one_line = one_line
        self.layouts: OrderedDict[int, Layout] = OrderedDict()  # by id(parts)

    # --- layout --------------------------------------------------------------------------------------------
    def layout(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> Layout | None:
        parts = index.data(PARTS_ROLE)
        if not isinstance(parts, MessageParts):
            return None
        width = max(option.rect.width(), 200) - 2 * GAP
        key = id(parts)  # the model keeps a message's parts: the same object while it is shown
        found = self.layouts.get(key)
        document = None
        if found is not None and found.parts is parts:
            self.layouts.move_to_end(key)
            if found.width == width:
                return found
            # a new width (the window was resized): the document is laid out again, not built again (building
            # 400 messages with quotes and links anew took 77 to 200 ms of the GUI thread a resize, now 24 to 33)
            document = found.document
            if document is not None:
                document.setTextWidth(width)
        elif not (self.one_line or plain(parts)):
            document = self._document(parts, option.font, width)
        metrics = QFontMetrics(option.font)
        text_top = metrics.height() * (2 if parts.day else 1)
        if document is not None:
            text_height = int(document.size().height() + 0.99)
        elif self.one_line:
            text_height = QFontMetrics(_body_font(option.font, parts)).height()
        elif parts.body:  # measured in the font it is drawn in (a call or an event: italic)
            text_height = (
                QFontMetrics(_body_font(option.font, parts))
                .boundingRect(QRect(0, 0, width, 1 << 20), Qt.TextFlag.TextWordWrap, parts.body)
                .height()
            )
        else:
            text_height = 0
        photos_top = text_top + text_height
        boxes, x, y = [], 0, photos_top
        for sha256 in parts.photos:
            if x and x + BOX.width() > width:
                x, y = 0, y + BOX.height() + GAP
            boxes.append((sha256, QRect(x, y + GAP // 2, BOX.width(), BOX.height())))
            x += BOX.width() + GAP
        height = (y + BOX.height() + GAP) if boxes else photos_top
        height += metrics.height() if parts.reactions else 0
        found = Layout(parts, width, document, text_top, photos_top, boxes, height + 2 * GAP)
        self.layouts[key] = found
        while len(self.layouts) > LAYOUTS_HELD:
            self.layouts.popitem(last=False)
        return found

    @staticmethod
    def _document(parts: MessageParts, font: QFont, width: int) -> QTextDocument:
        """The text (quoted lines indented, grey, with a bar drawn beside them; links underlined) and the file
        lines (a stored file's line is a link that offers Save as…)."""
        document = QTextDocument()
        document.setDefaultFont(_body_font(font, parts))
        document.setDocumentMargin(0)
        document.setTextWidth(width)
        cursor = QTextCursor(document)
        lines = parts.body.split("\n") if parts.body else []
        plain, quoted = QTextBlockFormat(), QTextBlockFormat()
        quoted.setLeftMargin(QUOTE_INDENT)
        grey = QTextCharFormat()
        grey.setForeground(QUIET)
        starts = []  # each line's (offset in the body, position in the document)
        at = 0
        for number, line in enumerate(lines):
            is_quote = line.startswith(">")
            if number:
                cursor.insertBlock(quoted if is_quote else plain, QTextCharFormat())
            else:
                cursor.setBlockFormat(quoted if is_quote else plain)
            cut = 0
            if is_quote:
                cursor.block().setUserState(QUOTED)
                cut = 2 if line.startswith("> ") else 1
            starts.append((at + cut, cursor.position()))
            _insert_linked(cursor, line[cut:], grey if is_quote else QTextCharFormat())
            at += len(line) + 1
        _highlight(document, parts.marks, starts)
        for number, (line, attachment) in enumerate(parts.files):
            if lines or number:
                cursor.insertBlock(plain, QTextCharFormat())
            look = QTextCharFormat()
            if attachment.get("sha256"):
                look.setAnchor(True)
                look.setAnchorHref(f"{FILE_LINK}{number}")
                look.setForeground(LINK_COLOR)
                look.setToolTip("Save as…")
            else:
                look.setForeground(QUIET)
            cursor.insertText(line, look)
        return document

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        found = self.layout(option, index)
        if found is None:
            return super().sizeHint(option, index)
        return QSize(max(option.rect.width(), 200), found.height)

    # --- drawing -------------------------------------------------------------------------------------------
    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        self.initStyleOption(option, index)
        found = self.layout(option, index)
        if found is None:
            super().paint(painter, option, index)
            return
        parts = found.parts
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.save()
        if selected:
            painter.fillRect(option.rect, option.palette.highlight())
        color = option.palette.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        if parts.quiet and not selected:
            color = QUIET  # calls and events
        metrics = QFontMetrics(option.font)
        left, top = option.rect.left() + GAP, option.rect.top() + GAP
        width = option.rect.width() - 2 * GAP
        y = top
        if parts.day:
            painter.setPen(option.palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(QRect(left, y, width, metrics.height()), Qt.AlignmentFlag.AlignHCenter, parts.day)
            y += metrics.height()
        bold = QFont(option.font)
        bold.setBold(True)
        painter.setFont(bold)
        painter.setPen(color)
        head = QFontMetrics(bold).elidedText(parts.head, Qt.TextElideMode.ElideRight, width)  # a long name: "…"
        painter.drawText(QRect(left, y, width, metrics.height()), Qt.AlignmentFlag.AlignLeft, head)

        if found.document is None:
            font = _body_font(option.font, parts)
            painter.setFont(font)
            text = QRect(left, top + found.text_top, width, found.photos_top - found.text_top)
            if self.one_line:
                painter.drawText(text, 0, QFontMetrics(font).elidedText(parts.body, Qt.TextElideMode.ElideRight, width))
            else:
                painter.drawText(text, Qt.TextFlag.TextWordWrap, parts.body)
        else:
            self._text(painter, found.document, color, QPointF(left, top + found.text_top))

        if found.boxes:
            self._thumbnails(painter, option, index, found, QPointF(left, top))
        if parts.reactions:
            painter.setFont(option.font)
            painter.setPen(color)
            bottom = option.rect.bottom() - GAP - metrics.height()
            painter.drawText(QRect(left, bottom, width, metrics.height()), Qt.AlignmentFlag.AlignLeft, parts.reactions)
        painter.restore()

    @staticmethod
    def _text(painter: QPainter, document: QTextDocument, color: QColor, origin: QPointF) -> None:
        """The laid out text, and a bar beside each quoted line."""
        painter.translate(origin)
        context = QAbstractTextDocumentLayout.PaintContext()
        context.palette.setColor(QPalette.ColorRole.Text, color)
        document.documentLayout().draw(painter, context)
        block = document.begin()
        while block.isValid():
            if block.userState() == QUOTED:
                box = document.documentLayout().blockBoundingRect(block)
                painter.fillRect(QRectF(0, box.top(), QUOTE_BAR, box.height()), QUIET)
            block = block.next()
        painter.translate(-origin)

    @staticmethod
    def _thumbnails(
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
        found: Layout,
        origin: QPointF,
    ) -> None:
        """Each photo's thumbnail in its box, or the empty box (a word in it once the photo cannot be shown)."""
        images = index.data(THUMBNAILS_ROLE) or {}
        for sha256, box in found.boxes:
            where = box.translated(int(origin.x()), int(origin.y()))
            image = images.get(sha256)
            if isinstance(image, QImage) and not image.isNull():
                painter.drawImage(QPointF(where.left(), where.top()), image)
                continue
            painter.setPen(option.palette.color(QPalette.ColorRole.Mid))
            painter.drawRect(where.adjusted(0, 0, -1, -1))
            if image is False:
                painter.setPen(QUIET)
                painter.drawText(where, Qt.AlignmentFlag.AlignCenter, "no preview")

    # --- clicks --------------------------------------------------------------------------------------------
    def target_at(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex, position: QPointF
    ) -> str:
        """What is under `position` (in the view's viewport): a link's URL, FILE_LINK<n>, or ""."""
        found = self.layout(option, index)
        if found is None or found.document is None:
            return ""
        inside = position - QPointF(option.rect.left() + GAP, option.rect.top() + GAP + found.text_top)
        return found.document.documentLayout().anchorAt(inside)

    def editorEvent(
        self,
        event: QEvent,
        model: Any,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> bool:
        """A click on a link opens it; on a stored file's line, offers to save it. The pointer is a hand over
        either (the view tracks the mouse)."""
        kind = event.type()
        if kind not in (QEvent.Type.MouseButtonRelease, QEvent.Type.MouseMove):
            return False
        target = self.target_at(option, index, event.position())  # type: ignore[attr-defined]
        view = self.parent()
        if view is not None and hasattr(view, "viewport"):
            shape = Qt.CursorShape.PointingHandCursor if target else Qt.CursorShape.ArrowCursor
            view.viewport().setCursor(shape)
        if kind != QEvent.Type.MouseButtonRelease or not target:
            return False
        if event.button() != Qt.MouseButton.LeftButton:  # type: ignore[attr-defined]
            return False
        if target.startswith(FILE_LINK):
            parts = index.data(PARTS_ROLE)
            self.file_clicked.emit(parts.files[int(target[len(FILE_LINK) :])][1])
        else:
            self.link_clicked.emit(target)
        return True


def _body_font(font: QFont, parts: MessageParts) -> QFont:
    """The font of a message's text: italic for a call or an event."""
    body = QFont(font)
    body.setItalic(parts.quiet)
    return body


def _highlight(document: QTextDocument, marks: tuple[tuple[int, int], ...], starts: list[tuple[int, int]]) -> None:
    """The words a search matched, bold on a highlight (`marks` in the body's offsets; `starts` maps each line's
    first offset to its place in the document)."""
    look = QTextCharFormat()
    look.setFontWeight(QFont.Weight.Bold)
    look.setBackground(HIGHLIGHT)
    for start, end in marks:
        line_at, place = next(((a, p) for a, p in reversed(starts) if a <= start), (0, 0))
        cursor = QTextCursor(document)
        cursor.setPosition(place + start - line_at)
        cursor.setPosition(place + end - line_at, QTextCursor.MoveMode.KeepAnchor)
        cursor.mergeCharFormat(look)


def _insert_linked(cursor: QTextCursor, line: str, look: QTextCharFormat) -> None:
    """A line of text, its links made anchors (underlined, in the link colour)."""
    at = 0
    for start, end, url in links(line):
        cursor.insertText(line[at:start], look)
        anchor = QTextCharFormat(look)
        anchor.setAnchor(True)
        anchor.setAnchorHref(url)
        anchor.setForeground(LINK_COLOR)
        anchor.setFontUnderline(True)
        anchor.setToolTip(url)
        cursor.insertText(line[start:end], anchor)
        at = end
    cursor.insertText(line[at:], look)
