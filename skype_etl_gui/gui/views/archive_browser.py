"""The archive browser: conversations, a conversation's messages, and search across all of them. No I/O here.

Every read goes through the presenter's one reader job; the window only shows
what comes back. Ctrl+F goes to the search field, Enter searches, Esc clears
the search (or leaves the field); activating a hit opens its conversation with
that message current and centred. The last conversation shown is remembered.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QPoint,
    QStandardPaths,
    Qt,
    QTimer,
    QUrl,
    Signal,
    Slot,
)
from PySide6.QtGui import (
    QCloseEvent,
    QDesktopServices,
    QGuiApplication,
    QKeySequence,
    QShortcut,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QLineEdit,
    QListView,
    QMenu,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ..models.archive import PARTS_ROLE, ROW_ROLE
from ..presenters.browser import BrowserPresenter
from ..widgets import plain_label
from .message_delegate import MessageDelegate, links

LAST_CONVERSATION = "browser/lastConversation"


class ArchiveBrowserWindow(QWidget):
    """`remembered`: the conversation shown last time ([owner_id, id]); `remember` tells the one shown now (the
    main window keeps it: settings are written by a job, never here)."""

    remember = Signal(list)

    def __init__(self, database: Any, parent: QWidget | None = None, remembered: Any = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("archiveBrowserWindow")
        self.setWindowTitle("Archive")
        self.resize(1100, 700)
        self.remembered = remembered
        self.presenter = BrowserPresenter(database, self)
        layout = QVBoxLayout(self)

        self.search_field = QLineEdit()
        self.search_field.setObjectName("searchField")
        self.search_field.setPlaceholderText(
            'Search every conversation: words, "a phrase", prefix*, -word, from:, in:, after:, before:'
        )
        self.search_field.setClearButtonEnabled(True)
        self.search_field.returnPressed.connect(self.search)
        self.search_field.installEventFilter(self)
        layout.addWidget(self.search_field)

        self.filter_field = QLineEdit()
        self.filter_field.setObjectName("conversationFilter")
        self.filter_field.setPlaceholderText("Filter conversations")
        self.filter_field.textChanged.connect(self._filter_changed)
        self.conversation_list = _list("conversationList")
        # every row a name and one line: the view measures one row, not thousands each time the filter changes
        # (3,000 conversations held the GUI thread 96 ms on opening, 69 ms when the filter was cleared)
        self.conversation_list.setItemDelegate(MessageDelegate(self.conversation_list, one_line=True))
        self.conversation_list.setUniformItemSizes(True)
        self.conversation_list.setModel(self.presenter.conversations)
        self.conversation_list.selectionModel().currentChanged.connect(self._conversation_chosen)
        left = _column(self.filter_field, self.conversation_list)

        self.message_view = _list("messageView")
        self.message_delegate = MessageDelegate(self.message_view)
        self.message_delegate.link_clicked.connect(lambda url: self.open_link(url))
        self.message_delegate.file_clicked.connect(lambda attachment: self.save_file(attachment))
        self.message_view.setItemDelegate(self.message_delegate)
        self.message_view.setModel(self.presenter.messages)
        self.message_view.setWordWrap(True)
        self.message_view.setMouseTracking(True)  # the pointer becomes a hand over links and files
        self.message_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.message_view.customContextMenuRequested.connect(self._message_menu)

        self.results_note = plain_label("searchNote", "")
        self.search_results = _list("searchResults")
        self.search_results.setItemDelegate(MessageDelegate(self.search_results))  # the matched words highlighted
        self.search_results.setModel(self.presenter.hits)
        self.search_results.activated.connect(self._hit_activated)
        results = self.results_panel = _column(self.results_note, self.search_results)
        results.hide()

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.message_view)
        splitter.addWidget(results)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 5)
        splitter.setStretchFactor(2, 3)
        splitter.setSizes([270, 500, 330])  # the list wide enough for "group · 1,234 messages · 2024-07-13 11:17"
        layout.addWidget(splitter, 1)
        self.note = plain_label("browserNote", "Opening the archive…")
        layout.addWidget(self.note)

        QShortcut(QKeySequence.StandardKey.Find, self, self.focus_search)
        # F5: read the archive again (what another program, e.g. skype-etl import, added meanwhile)
        QShortcut(QKeySequence.StandardKey.Refresh, self, lambda: self.refresh(messages_changed=True))
        self.presenter.note.connect(self.note.setText)
        self.presenter.opened.connect(self._opened)
        self.presenter.refreshed.connect(self._refreshed)
        self.presenter.conversation_shown.connect(self._messages_shown)
        self.presenter.searched.connect(self._searched)
        presenter = self.presenter
        _windowed(
            self.message_view, presenter.load_older, presenter.load_newer, presenter.older_shown, presenter.newer_shown
        )
        _windowed(
            self.search_results,
            presenter.earlier_hits,
            presenter.more_hits,
            presenter.earlier_hits_shown,
            presenter.later_hits_shown,
        )
        self.pending_hit: str | None = None
        QTimer.singleShot(0, self.presenter.open)

    # --- search -------------------------------------------------------------------------------------------
    @Slot()
    def focus_search(self) -> None:
        self.search_field.setFocus()
        self.search_field.selectAll()

    @Slot()
    def search(self) -> None:
        self.results_panel.show()
        self.presenter.search(self.search_field.text())

    def eventFilter(self, watched: Any, event: Any) -> bool:
        """Esc in the search field: the search is cleared (a second Esc leaves the field for the messages)."""
        if watched is self.search_field and event.type() == event.Type.KeyPress and event.key() == Qt.Key.Key_Escape:
            if self.search_field.text():
                self.search_field.clear()
                self.presenter.search("")
                self.results_panel.hide()
            else:
                self.message_view.setFocus()
            return True
        return super().eventFilter(watched, event)

    @Slot(str)
    def _searched(self, text: str) -> None:
        self.results_note.setText(text)

    @Slot(Any)
    def _hit_activated(self, index: Any) -> None:
        hit = index.data(ROW_ROLE)
        if hit is None:
            return
        self.pending_hit = hit["id"]
        self._select_conversation(hit["owner_id"], hit["conversation_id"], quietly=True)
        self.presenter.show_conversation(hit["owner_id"], hit["conversation_id"], around=hit["id"])

    # --- conversations and messages -----------------------------------------------------------------------
    @Slot()
    def _opened(self) -> None:
        last = self.remembered
        if isinstance(last, list) and len(last) == 2 and self.presenter.conversations.find(*last) >= 0:
            self._select_conversation(str(last[0]), str(last[1]))
        elif self.presenter.conversations.rows:
            self.conversation_list.setCurrentIndex(self.presenter.conversations.index(0, 0))

    def refresh(self, messages_changed: bool = False) -> None:
        """The conversations read again, as an import or a reprocess left them; the one shown stays, and is read
        again around the message current in it when it gained messages (or `messages_changed`)."""
        current = self.conversation_list.currentIndex().data(ROW_ROLE)
        self._before_refresh = None
        if current:
            self._before_refresh = (current["owner_id"], current["id"], -1 if messages_changed else current["messages"])
        self.presenter.refresh()

    _before_refresh: tuple[str, str, int] | None = None  # the conversation shown, and its messages (-1: read again)

    @Slot()
    def _refreshed(self) -> None:
        before, self._before_refresh = self._before_refresh, None
        if before is None:
            self._opened()
            return
        owner_id, conversation_id, count = before
        model = self.presenter.conversations
        self._select_conversation(owner_id, conversation_id, quietly=True)
        row = model.find(owner_id, conversation_id)
        if row >= 0 and model.rows[row]["messages"] != count:
            message = self.message_view.currentIndex().data(ROW_ROLE)
            self.presenter.show_conversation(owner_id, conversation_id, around=message["id"] if message else None)

    def _select_conversation(self, owner_id: str, conversation_id: str, quietly: bool = False) -> None:
        """Make a conversation the current one in the list (`quietly`: without reading its newest messages)."""
        model = self.presenter.conversations
        if model.find(owner_id, conversation_id, model.every) < 0:
            return
        if model.find(owner_id, conversation_id) < 0:  # filtered away: show every conversation again
            self.filter_field.clear()
        self.quiet = quietly
        self.conversation_list.setCurrentIndex(model.index(model.find(owner_id, conversation_id), 0))
        self.quiet = False

    @Slot(str)
    def _filter_changed(self, text: str) -> None:
        """Only the conversations whose name, id or owner hold the text; the current one (or, when the filter had
        hidden it, the one shown) stays current when listed."""
        current = self.conversation_list.currentIndex().data(ROW_ROLE)
        keep = (current["owner_id"], current["id"]) if current else self.presenter.messages.conversation
        self.presenter.conversations.set_filter(text)
        if keep is not None:
            row = self.presenter.conversations.find(*keep)
            if row >= 0:
                self.quiet = True
                self.conversation_list.setCurrentIndex(self.presenter.conversations.index(row, 0))
                self.quiet = False

    quiet = False

    @Slot(Any, Any)
    def _conversation_chosen(self, current: Any, _previous: Any) -> None:
        row = current.data(ROW_ROLE) if current.isValid() else None
        if row is None:
            return
        self.remembered = [row["owner_id"], row["id"]]
        self.remember.emit(self.remembered)
        if not self.quiet:
            self.pending_hit = None
            self.presenter.show_conversation(row["owner_id"], row["id"])

    @Slot(int)
    def _messages_shown(self, current: int) -> None:
        model = self.presenter.messages
        if current >= 0:
            index = model.index(current, 0)
            self.message_view.setCurrentIndex(index)
            self.message_view.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
        elif model.rowCount():
            self.message_view.scrollToBottom()  # the newest

    # --- links and files ----------------------------------------------------------------------------------
    @Slot(str)
    def open_link(self, url: str) -> None:
        """A link in a message was clicked: the system's browser opens it."""
        QDesktopServices.openUrl(QUrl(url))

    @Slot(object)
    def save_file(self, attachment: dict[str, Any]) -> None:
        """Save as…: where the person says, written by the reader job (this thread writes no file)."""
        target = self.ask_save_path(str(attachment.get("file_name") or attachment["sha256"]))
        if target:
            self.presenter.save_file(attachment, target)

    def ask_save_path(self, name: str) -> str:
        """The file a stored file is saved as ("" when the person cancels)."""
        folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DownloadLocation)
        target, _ = QFileDialog.getSaveFileName(self, "Save as", str(Path(folder or ".") / name))
        return target

    @Slot(QPoint)
    def _message_menu(self, position: QPoint) -> None:
        """Right click on a message: copy its text, save each of its stored files, open each of its links."""
        index = self.message_view.indexAt(position)
        if not index.isValid():
            return
        menu = self.message_menu(index)
        menu.popup(self.message_view.viewport().mapToGlobal(position))

    def message_menu(self, index: QModelIndex) -> QMenu:
        menu = QMenu(self)
        parts = index.data(PARTS_ROLE)
        text = str(parts.body if parts is not None else index.data() or "")
        menu.addAction("Copy text", lambda: QGuiApplication.clipboard().setText(text))
        for _line, attachment in parts.files if parts is not None else ():
            if attachment.get("sha256"):
                name = attachment.get("file_name") or "the file"
                menu.addAction(f"Save {name} as…", partial(self.save_file, attachment))
        for _start, _end, url in links(text):
            menu.addAction(f"Open {url}", partial(self.open_link, url))
        return menu

    def closeEvent(self, event: QCloseEvent) -> None:
        self.presenter.close()
        super().closeEvent(event)


def _column(top: QWidget, main: QWidget) -> QWidget:
    """A line or field above a list that takes the rest of the height."""
    column = QWidget()
    layout = QVBoxLayout(column)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(top)
    layout.addWidget(main, 1)
    return column


def _windowed(
    view: QListView, earlier: Callable[[], None], later: Callable[[], None], in_front: Any, at_end: Any
) -> None:
    """A list whose model holds a window of a longer one: scrolled to its top it asks for the `earlier` page, to its
    bottom the `later` one; when a page came (`in_front`, `at_end`: signals of how many rows), what the person was
    looking at stays where it was."""
    bar = view.verticalScrollBar()

    def scrolled(value: int) -> None:
        if bar.minimum() == bar.maximum():  # nothing to scroll (or no rows)
            return
        if value == bar.minimum():
            earlier()
        elif value == bar.maximum():
            later()

    bar.valueChanged.connect(scrolled)
    in_front.connect(partial(_keep_in_place, view, top=True))
    at_end.connect(partial(_keep_in_place, view, top=False))


def _keep_in_place(view: QListView, count: int, top: bool) -> None:
    """After `count` rows went in at the top (`top`), the row that was at the top is there still; after `count` went
    in at the end (and as many, past what the model holds, from the top), the row that was at the bottom is."""
    if not count:
        return
    model = view.model()
    if top:
        view.scrollTo(model.index(count, 0), QAbstractItemView.ScrollHint.PositionAtTop)
    else:
        last = model.rowCount() - count - 1
        view.scrollTo(model.index(max(last, 0), 0), QAbstractItemView.ScrollHint.PositionAtBottom)


def _list(name: str) -> QListView:
    view = QListView()
    view.setObjectName(name)
    view.setUniformItemSizes(False)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # rows wrap to the width
    view.setResizeMode(QListView.ResizeMode.Adjust)
    return view
