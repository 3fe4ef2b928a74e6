"""The archive browser's presenter: what the window asks for, read by its one reader job, into its models."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QImage

from ...archive import QueryError, conversation_label
from ...units import count_text, size_text
from ..models.archive import MARKS, ConversationListModel, MessageListModel, SearchResultsModel
from ..reading import DatabaseReader
from ..thumbnails import thumbnail
from ..work import serve_archive

# messages read at a time. Each page is laid out on the GUI thread when it comes: a message with a quote or a
# link is a document (~0.12 ms), and the view measures every row it holds again (~20 us each). 100 at a time
# took 33 ms a page, 45 ms for the first (over quotes and links); 50 take 15 to 28 ms
PAGE = 50
HITS = 50  # search hits read at a time
STALE = "stale"  # a thumbnail not made: asked for a conversation no longer shown


def _saving(archive: Any, sha256: str, target: str) -> int | OSError:
    """Save a stored file; a file system's refusal (no such folder, no room, no right) is the answer."""
    try:
        return int(archive.save_media(sha256, target))
    except OSError as exc:
        return exc


class BrowserPresenter(QObject):
    note = Signal(str)  # a line for the person: counts, progress, or why nothing can be shown
    opened = Signal()  # the conversations are in
    refreshed = Signal()  # the conversations are in again (refresh(): an import added to the archive)
    conversation_shown = Signal(int)  # the messages are in; the row to make current (-1: the newest)
    older_shown = Signal(int)  # older messages went in front: how many
    newer_shown = Signal(int)  # newer messages went at the end: how many
    searched = Signal(str)  # the hits are in; a line that says how many (or why none)
    earlier_hits_shown = Signal(int)  # hits went in front again: how many
    later_hits_shown = Signal(int)  # hits went at the end (and as many of the first, past what is held): how many

    def __init__(self, database: str | dict[str, Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.database = database
        self.conversations = ConversationListModel(self)
        self.messages = MessageListModel(self)
        self.hits = SearchResultsModel(self)
        self.messages.thumbnail_wanted.connect(self._thumbnail)
        self.reader = DatabaseReader(database, self, serve=serve_archive)
        self.reader.answered.connect(self._answered)
        self.reader.failed.connect(self.note.emit)
        self.reader.opened.connect(self._on_opened)
        self.query = ""
        self.latest = {"conversation": 0, "search": 0}  # the latest request of each kind wins: older answers go
        self.loading = {"older": False, "newer": False}  # a page on its way, on that side of those shown
        self.hits_loading = {"earlier": False, "later": False}  # the same, for the hits

    def open(self) -> None:
        self.note.emit("Opening the archive…")
        self.reader.start()

    def close(self) -> None:
        self.reader.close()

    def refresh(self) -> None:
        """The conversations read again (an import added to the archive while the browser was open)."""
        self.reader.ask("refreshed", lambda archive: archive.conversations())

    # --- what the window asks ----------------------------------------------------------------------------
    def show_conversation(self, owner_id: str, conversation_id: str, around: str | None = None) -> None:
        """The newest page of a conversation, or the messages around one (it made current)."""
        self.latest["conversation"] += 1
        tag = ("conversation", self.latest["conversation"], (owner_id, conversation_id), around)
        half = PAGE // 2
        self.reader.ask(
            tag,
            lambda archive: archive.messages(
                owner_id,
                conversation_id,
                around=around,
                before=PAGE if around is None else half,
                after=PAGE - half,
            ),
        )

    def load_older(self) -> None:
        """The page before the first message shown (the view scrolled to its top)."""
        self._load_beside("older")

    def load_newer(self) -> None:
        """The page after the last message shown (the view scrolled to its bottom, older pages having pushed the
        newest out)."""
        self._load_beside("newer")

    def _load_beside(self, side: str) -> None:
        """The page on one side ("older" or "newer") of the messages shown, unless one is on its way or that
        side's end is shown."""
        model = self.messages
        shown_end = model.at_start if side == "older" else model.at_end
        if self.loading[side] or shown_end or not model.rows or model.conversation is None:
            return
        self.loading[side] = True
        edge = model.rows[0] if side == "older" else model.rows[-1]
        beside = {f"{side}_than": (edge["sent_at"], edge["id"])}
        owner_id, conversation_id = model.conversation
        self.reader.ask(
            (side, self.latest["conversation"], model.conversation),
            lambda archive: archive.page(owner_id, conversation_id, limit=PAGE, **beside),
        )

    def search(self, query: str) -> None:
        self.query = query.strip()
        self.latest["search"] += 1
        if not self.query:
            self.hits.set_rows([])
            self.searched.emit("")
            return
        self.searched.emit("Searching…")
        self.hits_loading["earlier"] = self.hits_loading["later"] = False
        self._ask_hits("first", 0, HITS)

    def more_hits(self) -> None:
        """The next page of hits, after those shown (the view was scrolled to the end)."""
        if not self.query or self.hits.at_end or self.hits_loading["later"]:
            return  # no search, the last hit is shown, or the next page is on its way
        self.hits_loading["later"] = True
        self._ask_hits("later", self.hits.first + len(self.hits.rows), HITS)

    def earlier_hits(self) -> None:
        """The page of hits before those shown (the view was scrolled back to the top, after some went)."""
        if not self.query or not self.hits.first or self.hits_loading["earlier"]:
            return
        self.hits_loading["earlier"] = True
        offset = max(self.hits.first - HITS, 0)
        self._ask_hits("earlier", offset, self.hits.first - offset)

    def _ask_hits(self, side: str, offset: int, limit: int) -> None:
        """`limit` of the search's hits from `offset` on: the "first" page, or the page "earlier" or "later" than
        those shown."""
        query = self.query
        self.reader.ask(
            ("search", self.latest["search"], side),
            lambda archive: archive.search(query, limit=limit, offset=offset, mark=MARKS),
        )

    def save_file(self, attachment: dict[str, Any], target: str) -> None:
        """A stored file's bytes into `target` (written by the reader job)."""
        name = attachment.get("file_name") or "the file"
        self.note.emit(f"Saving {name}…")
        sha256 = attachment["sha256"]
        self.reader.ask(("saved", name, target), lambda archive: _saving(archive, sha256, target))

    @Slot(str)
    def _thumbnail(self, sha256: str) -> None:
        """A photo is drawn and its thumbnail is not here: decoded by the reader job, unless the conversation
        changed before its turn came."""
        number = self.latest["conversation"]

        def make(archive: Any) -> Any:
            return thumbnail(archive, sha256) if number == self.latest["conversation"] else STALE

        self.reader.ask(("thumbnail", number, sha256), make, later=True)  # after any page or search asked

    # --- the answers -------------------------------------------------------------------------------------
    @Slot(bool)
    def _on_opened(self, exists: bool) -> None:
        if not exists:
            self.note.emit("No archive here yet: import an export into this database first.")

    @Slot(object, object)
    def _answered(self, tag: Any, result: Any) -> None:
        if tag == "migrating":
            step, number, steps = result
            self.note.emit(f"Updating the archive made by an earlier version: {step} ({number} of {steps})…")
            return
        if tag in ("opened", "refreshed"):
            if isinstance(result, Exception):
                self.note.emit(str(result))
                return
            self.conversations.set_rows(result)
            self.hits.names = {(c["owner_id"], c["id"]): conversation_label(c) for c in result}
            total = sum(c["messages"] for c in result)
            self.note.emit(f"{len(result):,} conversations, {total:,} messages")
            (self.opened if tag == "opened" else self.refreshed).emit()
            return
        kind, number = tag[0], tag[1]
        if kind == "conversation" and number == self.latest["conversation"]:
            self._on_messages(tag[2], tag[3], result)
        elif kind in self.loading and number == self.latest["conversation"] and tag[2] == self.messages.conversation:
            self.loading[kind] = False
            if isinstance(result, Exception):
                return
            if kind == "older":
                self.messages.prepend(result, at_start=len(result) < PAGE)
                self.older_shown.emit(len(result))
            else:
                self.messages.append(result, at_end=len(result) < PAGE)
                self.newer_shown.emit(len(result))
        elif kind == "search" and number == self.latest["search"]:
            self._on_hits(tag[2], result)
        elif kind == "thumbnail" and result is not STALE:
            self.messages.set_thumbnail(tag[2], result if isinstance(result, QImage) else None)
        elif kind == "saved":
            name, target = tag[1], tag[2]
            if isinstance(result, OSError):
                self.note.emit(f"Could not save {name} to {target}: {result.strerror or result}")
            else:
                self.note.emit(f"Saved {name} ({size_text(result)}) to {target}")

    def _on_messages(self, conversation: tuple[str, str], around: str | None, rows: Any) -> None:
        if isinstance(rows, Exception):
            self.note.emit(str(rows))
            return
        half = PAGE // 2
        current = -1
        if around is None:
            at_start, at_end = len(rows) < PAGE, True
        else:
            current = next((i for i, row in enumerate(rows) if row["id"] == around), -1)
            at_start, at_end = current < half, len(rows) - current < PAGE - half
        self.loading = {"older": False, "newer": False}
        self.messages.show(conversation, rows, at_start, at_end)
        self.conversation_shown.emit(current)

    def _on_hits(self, side: str, hits: Any) -> None:
        if side in self.hits_loading:
            self.hits_loading[side] = False
        if isinstance(hits, QueryError):
            self.hits.set_rows([])
            self.searched.emit(str(hits))
            return
        if isinstance(hits, Exception):
            self.searched.emit(f"The search failed: {hits}")
            return
        if side == "first":
            self.hits.set_rows(hits, at_end=len(hits) < HITS)
        elif side == "earlier":
            self.hits.put_before(hits)
            self.earlier_hits_shown.emit(len(hits))
            return
        else:
            self.hits.add_rows(hits, at_end=len(hits) < HITS)
            self.later_hits_shown.emit(len(hits))
        count = self.hits.seen
        if not count:
            self.searched.emit("No messages found.")
        else:
            self.searched.emit(
                f"{count_text(count, 'message')} found" if self.hits.all_seen else f"{count:,}+ messages found"
            )
