"""The archive browser, driven as a person would, on SQLite and PostgreSQL (issue 17)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QLineEdit, QListView, QPushButton

from skype_etl_gui.etl import ETLPipeline
from skype_etl_gui.gui.models.archive import ROW_ROLE
from skype_etl_gui.gui.views.archive_browser import ArchiveBrowserWindow
from skype_etl_gui.gui.views.main_window import MainWindow
from tests.conftest import conversation, export_document, message
from tests.gui.conftest import stop_jobs
from tests.test_archive import build, hour

WAIT = 20_000


def open_browser(qtbot: Any, url: str, remembered: Any = None) -> ArchiveBrowserWindow:
    window = ArchiveBrowserWindow(url, remembered=remembered)
    qtbot.addWidget(window, before_close_func=stop_jobs)
    window.show()
    conversations = window.findChild(QListView, "conversationList")
    qtbot.waitUntil(lambda: conversations.model().rowCount() == 2, timeout=WAIT)
    return window


def view(window: Any, name: str) -> QListView:
    found = window.findChild(QListView, name)
    assert found is not None, name
    return found


def texts(list_view: QListView) -> list[str]:
    model = list_view.model()
    return [model.index(row, 0).data() for row in range(model.rowCount())]


def test_browse_a_conversation_search_and_open_a_hit(qtbot: Any, any_db: Any, tmp_path: Path) -> None:
    build(tmp_path, any_db.url)
    window = open_browser(qtbot, any_db.url)
    conversations, messages = view(window, "conversationList"), view(window, "messageView")
    assert texts(conversations)[0].startswith("The Team\ngroup · 120 messages · 2021-03-10")
    # the latest conversation opens with its newest messages, the newest at the bottom
    qtbot.waitUntil(lambda: messages.model().rowCount() == 50, timeout=WAIT)  # a page
    assert texts(messages)[-1].endswith("Bob Builder  03:00\ngroup line 119")
    assert texts(messages)[0] == "——— 2021-03-08 ———\nBob Builder  02:00\ngroup line 70 brown"
    # search: Ctrl+F, type, Enter
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    field = window.findChild(QLineEdit, "searchField")
    assert field.hasFocus() or not window.isActiveWindow()
    qtbot.keyClicks(field, "cafe")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    results = view(window, "searchResults")
    qtbot.waitUntil(lambda: results.model().rowCount() == 1, timeout=WAIT)
    assert texts(results) == ["Anna · Anna · 2021-03-01 02:00\nWe met at the [Café] de Flore"]
    assert highlighted(results, 0) == ["Café"]  # drawn bold on a highlight, not in brackets
    assert window.results_note.text() == "1 message found"
    # activating the hit opens its conversation with that message current and centred
    results.activated.emit(results.model().index(0, 0))
    qtbot.waitUntil(lambda: messages.currentIndex().isValid(), timeout=WAIT)
    assert "We met at the Café de Flore" in messages.currentIndex().data()
    assert conversations.currentIndex().data().startswith("Anna\n")
    # Esc clears the search
    field.setFocus()
    qtbot.keyClick(field, Qt.Key.Key_Escape)
    assert field.text() == "" and results.model().rowCount() == 0
    field.setText("nowhere")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.results_note.text() == "No messages found.", timeout=WAIT)


def highlighted(list_view: QListView, row: int) -> list[str]:
    """The words drawn highlighted in a row (a search's matched words)."""
    from PySide6.QtGui import QFont

    layout = list_view.itemDelegate().layout(option_of(list_view, row), list_view.model().index(row, 0))
    found, block = [], layout.document.begin()
    while block.isValid():
        fragments = block.begin()
        while not fragments.atEnd():
            fragment = fragments.fragment()
            if fragment.charFormat().fontWeight() == QFont.Weight.Bold:
                found.append(fragment.text())
            fragments += 1
        block = block.next()
    return found


def test_a_query_that_cannot_be_read_says_why_in_the_window(qtbot: Any, db: Any, tmp_path: Path) -> None:
    build(tmp_path, db.url)
    window = open_browser(qtbot, db.url)
    field = window.findChild(QLineEdit, "searchField")
    note = window.findChild(type(window.note), "searchNote")
    for query, says in (("-brown", "not only what to leave out"), ('"open', "not closed"), ("zebra", "No messages")):
        field.setText(query)
        qtbot.keyClick(field, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda says=says: says in note.text(), timeout=WAIT)


def test_filter_conversations_and_the_last_one_is_remembered(qtbot: Any, db: Any, tmp_path: Path) -> None:
    build(tmp_path, db.url)
    window = open_browser(qtbot, db.url, remembered=["8:live:.cid.me", "8:anna"])
    conversations, messages = view(window, "conversationList"), view(window, "messageView")
    assert conversations.currentIndex().data().startswith("Anna\n")
    qtbot.waitUntil(lambda: messages.model().rowCount() == 10, timeout=WAIT)
    told: list[Any] = []
    window.remember.connect(told.append)
    field = window.findChild(QLineEdit, "conversationFilter")
    field.setText("team")
    assert texts(conversations) == [texts(conversations)[0]] and texts(conversations)[0].startswith("The Team")
    # Anna's chat, filtered away, is still the one shown: typing in the filter opens nothing else
    assert not conversations.currentIndex().isValid() and told == []
    assert messages.model().conversation == ("8:live:.cid.me", "8:anna")
    field.setText("ANNA")  # whatever the case; and Anna's chat is current again, quietly
    assert conversations.currentIndex().data().startswith("Anna\n") and told == [["8:live:.cid.me", "8:anna"]]
    field.setText("8:anna")  # by its id
    assert len(texts(conversations)) == 1
    field.setText("TEAM")
    conversations.setCurrentIndex(conversations.model().index(0, 0))
    assert told[-1] == ["", "19:team@thread.skype"]
    field.setText("")
    assert len(texts(conversations)) == 2 and conversations.currentIndex().data().startswith("The Team")


def test_scrolling_reads_pages_and_holds_a_bounded_window(
    qtbot: Any, db: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    import skype_etl_gui.gui.presenters.browser as browser
    from skype_etl_gui.gui.models.archive import MessageListModel

    monkeypatch.setattr(browser, "PAGE", 30)
    monkeypatch.setattr(MessageListModel, "MAX_ROWS", 60)
    build(tmp_path, db.url)
    window = open_browser(qtbot, db.url)
    messages = view(window, "messageView")
    model = messages.model()
    qtbot.waitUntil(lambda: model.rowCount() == 30, timeout=WAIT)
    seen_first = []
    for _ in range(4):  # up to the start: the window holds 60 at most, the newest go
        messages.verticalScrollBar().setValue(0)
        first = model.rows[0]["id"]
        qtbot.waitUntil(lambda first=first: model.rows[0]["id"] != first or model.at_start, timeout=WAIT)
        seen_first.append(model.rows[0]["id"])
        assert model.rowCount() <= 60
    assert model.at_start and not model.at_end and seen_first[-1] == "g0"
    assert texts(messages)[0].startswith("——— 2021-03-05 ———\nBob Builder  04:00\ngroup line 0")
    for _ in range(5):  # and down again to the newest
        bar = messages.verticalScrollBar()
        bar.setValue(bar.maximum())
        last = model.rows[-1]["id"]
        qtbot.waitUntil(lambda last=last: model.rows[-1]["id"] != last or model.at_end, timeout=WAIT)
        assert model.rowCount() <= 60
    assert model.at_end and model.rows[-1]["id"] == "g119"


def test_search_hits_scroll_down_and_back_up_through_a_bounded_window(
    qtbot: Any, db: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    """120 hits read 20 at a time, at most 45 held: scrolled to the end and back to the first, every hit shows
    once, in order, and the count says how many there are."""
    import skype_etl_gui.gui.presenters.browser as browser
    from skype_etl_gui.archive import Archive
    from skype_etl_gui.gui.models.archive import SearchResultsModel

    monkeypatch.setattr(browser, "HITS", 20)
    monkeypatch.setattr(SearchResultsModel, "MAX_ROWS", 45)
    build(tmp_path, db.url)
    with Archive(db.url) as archive:
        every = [hit["id"] for hit in archive.search("group", limit=500)]
    assert len(every) == 120
    window = open_browser(qtbot, db.url)
    field = window.findChild(QLineEdit, "searchField")
    field.setText("group")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    results = view(window, "searchResults")
    model = results.model()
    qtbot.waitUntil(lambda: model.rowCount() == 20, timeout=WAIT)
    assert window.results_note.text() == "20+ messages found"
    seen = [row["id"] for row in model.rows]
    while not model.at_end:  # down to the last hit
        last = model.rows[-1]["id"]
        bar = results.verticalScrollBar()
        qtbot.waitUntil(lambda bar=bar: bar.maximum() > 0, timeout=WAIT)  # laid out
        bar.setValue(bar.maximum())
        qtbot.waitUntil(lambda last=last: model.rows[-1]["id"] != last or model.at_end, timeout=WAIT)
        assert model.rowCount() <= 45
        seen += [
            row["id"] for row in model.rows[model.rows.index(next(r for r in model.rows if r["id"] == last)) + 1 :]
        ]
        # the hit that was at the bottom still is: the list did not jump as the first hits went
        bottom = results.indexAt(QPoint(5, results.viewport().height() - 2))
        assert bottom.isValid()
    assert seen == every and model.first == 120 - model.rowCount()
    assert window.results_note.text() == "120 messages found"
    ups = []
    while model.first:  # and back up to the first
        first = model.rows[0]["id"]
        results.verticalScrollBar().setValue(0)
        qtbot.waitUntil(lambda first=first: model.rows[0]["id"] != first, timeout=WAIT)
        assert model.rowCount() <= 45
        # the hit that was at the top is still at the top
        assert results.indexAt(QPoint(5, 2)).data(ROW_ROLE)["id"] == first
        ups.append(model.first)
    assert [row["id"] for row in model.rows] == every[: model.rowCount()] and ups[-1] == 0
    assert window.results_note.text() == "120 messages found"


def test_the_main_window_opens_the_browser(qtbot: Any, db: Any, tmp_path: Path) -> None:
    build(tmp_path, db.url)
    window = MainWindow(database_url=db.url)
    qtbot.addWidget(window, before_close_func=stop_jobs)
    window.show()
    window.findChild(QPushButton, "archiveButton").click()
    browser = window.archive_browser
    assert isinstance(browser, ArchiveBrowserWindow)
    qtbot.waitUntil(lambda: view(browser, "conversationList").model().rowCount() == 2, timeout=WAIT)


def test_an_archive_of_an_earlier_version_is_updated_with_progress(qtbot: Any, old_archive: Any) -> None:
    window = ArchiveBrowserWindow(old_archive.url)
    qtbot.addWidget(window, before_close_func=stop_jobs)
    said: list[str] = []
    window.presenter.note.connect(said.append)
    window.show()
    conversations = view(window, "conversationList")
    qtbot.waitUntil(lambda: conversations.model().rowCount() > 0, timeout=WAIT)
    assert any(text.startswith("Updating the archive made by an earlier version: search index") for text in said)


def test_no_archive_says_so(qtbot: Any, tmp_path: Path) -> None:
    window = ArchiveBrowserWindow(f"sqlite:///{tmp_path / 'none.db'}")
    qtbot.addWidget(window, before_close_func=stop_jobs)
    window.show()
    qtbot.waitUntil(lambda: "no such database" in window.note.text(), timeout=WAIT)


def test_after_an_import_the_window_offers_to_open_the_archive(qtbot: Any, db: Any, tmp_path: Path) -> None:
    from tests.conftest import conversation, export_document, message, write_export
    from tests.gui.test_main_window import make_window, run_to_end

    export = write_export(tmp_path / "e.json", export_document([conversation("8:anna", [message("1", "hello")])]))
    window = make_window(qtbot, export, db)
    archive = window.findChild(QPushButton, "archiveButton")
    assert archive.text() == "&Archive"
    assert run_to_end(qtbot, window)["status"] == "completed"
    assert archive.text() == "Open &archive" and archive.isDefault()
    archive.click()
    qtbot.waitUntil(lambda: view(window.archive_browser, "messageView").model().rowCount() == 1, timeout=WAIT)
    assert "hello" in texts(view(window.archive_browser, "messageView"))[0]


def test_a_browser_left_open_shows_what_a_later_import_added(qtbot: Any, any_db: Any, tmp_path: Path) -> None:
    """An import into the database the open browser shows: its conversations are read again, the one shown stays
    current, and its messages are read again when it gained some (after a reprocess, always); an import elsewhere
    changes nothing."""
    from tests.conftest import write_export
    from tests.gui.test_main_window import make_window, run_to_end

    anna = [message("1", "hello", originalarrivaltime=hour(1))]
    first = write_export(tmp_path / "a.json", export_document([conversation("8:anna", anna)]))
    window = make_window(qtbot, first, any_db)
    assert run_to_end(qtbot, window)["status"] == "completed"
    window.findChild(QPushButton, "archiveButton").click()
    browser = window.archive_browser
    conversations, messages = view(browser, "conversationList"), view(browser, "messageView")
    qtbot.waitUntil(lambda: messages.model().rowCount() == 1, timeout=WAIT)
    later = [*anna, message("2", "hello again", originalarrivaltime=hour(2))]
    bob = [message("3", "hi from bob", originalarrivaltime=hour(3), **{"from": "8:bob", "displayName": "Bob"})]
    second = write_export(
        tmp_path / "b.json", export_document([conversation("8:anna", later), conversation("8:bob", bob)])
    )
    window.export_edit.setText(str(second))
    assert run_to_end(qtbot, window)["status"] == "completed"
    qtbot.waitUntil(lambda: conversations.model().rowCount() == 2, timeout=WAIT)
    assert conversations.currentIndex().data(ROW_ROLE)["id"] == "8:anna"  # still the one shown
    qtbot.waitUntil(lambda: messages.model().rowCount() == 2, timeout=WAIT)
    assert "hello again" in texts(messages)[-1]
    assert "2 conversations, 3 messages" in browser.note.text()
    # a reprocess from the menu: the messages shown are read again (their texts may have changed)
    from tests.gui.test_main_window import start_reprocess

    any_db.execute("UPDATE messages SET content_raw = 'hello, read again' WHERE id = '2'")  # as a new rule would
    with qtbot.waitSignal(window.reprocess_finished, timeout=WAIT):
        start_reprocess(qtbot, window)
    qtbot.waitUntil(lambda: "hello, read again" in texts(messages)[-1], timeout=WAIT)
    assert conversations.currentIndex().data(ROW_ROLE)["id"] == "8:anna"
    # an import into another database leaves the browser as it is
    asked: list[Any] = []
    browser.presenter.reader.ask = lambda *args, **kwargs: asked.append(args)  # type: ignore[method-assign]
    window.set_database_url(f"sqlite:///{tmp_path / 'other.db'}")
    assert run_to_end(qtbot, window)["status"] == "completed"
    assert asked == []


def test_f5_reads_what_another_program_added(qtbot: Any, any_db: Any, tmp_path: Path) -> None:
    """An import the window does not know of (skype-etl import, another person's): F5 reads the archive again,
    the conversation shown staying current, its messages read again."""
    from tests.conftest import write_export

    anna = [message("1", "hello", originalarrivaltime=hour(1))]
    assert (
        ETLPipeline(any_db.url).run(
            str(write_export(tmp_path / "a.json", export_document([conversation("8:anna", anna)])))
        )["status"]
        == "completed"
    )
    window = ArchiveBrowserWindow(any_db.url)
    qtbot.addWidget(window, before_close_func=stop_jobs)
    window.show()
    conversations, messages = view(window, "conversationList"), view(window, "messageView")
    qtbot.waitUntil(lambda: messages.model().rowCount() == 1, timeout=WAIT)
    later = [*anna, message("2", "hello again", originalarrivaltime=hour(2))]
    bob = [message("3", "hi from bob", originalarrivaltime=hour(3))]
    document = export_document([conversation("8:anna", later), conversation("8:bob", bob)])
    assert ETLPipeline(any_db.url).run(str(write_export(tmp_path / "b.json", document)))["status"] == "completed"
    assert conversations.model().rowCount() == 1  # nothing tells the browser
    qtbot.keyClick(window, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: conversations.model().rowCount() == 2, timeout=WAIT)
    assert conversations.currentIndex().data(ROW_ROLE)["id"] == "8:anna"
    qtbot.waitUntil(lambda: messages.model().rowCount() == 2, timeout=WAIT)
    assert "hello again" in texts(messages)[-1]


# --- photos, files, links and quotes (the message view's delegate) ----------------------------------------------
def image_bytes(width: int, height: int, kind: str = "PNG") -> bytes:
    from PySide6.QtCore import QBuffer, QIODevice
    from PySide6.QtGui import QColor, QImage

    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("#3080c0"))
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    assert image.save(buffer, kind)
    return bytes(buffer.data().data())


PHOTO = image_bytes(800, 600)
QUOTING = (
    '<quote author="8:bob" authorname="Bob" timestamp="1614560400" messageid="1">'
    "<legacyquote>[1614560400] Bob: </legacyquote>what time?<legacyquote>\n\n&lt;&lt;&lt; </legacyquote></quote>"
    "at 5, the plan is at https://example.org/plan. See you"
)


def build_with_files(tmp_path: Path, url: str) -> dict[str, str]:
    """Anna's chat: a photo (800 x 600), a quote with a link, a "photo" that is no image, a file the export
    lacks. The stored files' sha256 by name."""
    import hashlib

    from tests.etl.test_media import media_members, shared, write_tar

    docs = {
        "0-weu-d3-photo": ("beach.png", "image/png", PHOTO),
        "0-weu-d3-broken": ("broken.jpg", "image/jpeg", b"not a jpeg at all" * 100),
    }
    entries = [
        message("1", shared("0-weu-d3-photo", "beach.png"), "RichText/UriObject", originalarrivaltime=hour(1)),
        message("2", QUOTING, originalarrivaltime=hour(2)),
        message("3", shared("0-weu-d3-broken", "broken.jpg"), "RichText/UriObject", originalarrivaltime=hour(3)),
        message("4", shared("0-weu-d3-gone", "old.pdf"), "RichText/Media_GenericFile", originalarrivaltime=hour(4)),
    ]
    data = json.dumps(export_document([conversation("8:anna", entries)])).encode()
    tar = write_tar(tmp_path / "export.tar", [("messages.json", data), *media_members(docs)])
    summary = ETLPipeline(url).run(str(tar))
    assert summary["status"] == "completed", summary["error"]
    return {name: hashlib.sha256(data).hexdigest() for name, _kind, data in docs.values()}


def open_files(qtbot: Any, url: str) -> tuple[ArchiveBrowserWindow, QListView]:
    window = ArchiveBrowserWindow(url)
    qtbot.addWidget(window, before_close_func=stop_jobs)
    window.resize(900, 700)
    window.show()
    messages = view(window, "messageView")
    qtbot.waitUntil(lambda: messages.model().rowCount() == 4, timeout=WAIT)
    return window, messages


def option_of(messages: QListView, row: int) -> Any:
    from PySide6.QtWidgets import QStyleOptionViewItem

    option = QStyleOptionViewItem()
    option.initFrom(messages.viewport())
    option.rect = messages.visualRect(messages.model().index(row, 0))
    return option


def point_of(messages: QListView, row: int, wanted: str) -> Any:
    """A point in the viewport over the link (or file line) `wanted` in a message's row."""
    from PySide6.QtCore import QPointF

    messages.scrollTo(messages.model().index(row, 0))
    option = option_of(messages, row)
    delegate = messages.itemDelegate()
    rect = option.rect
    for y in range(rect.top(), rect.bottom(), 2):
        for x in range(rect.left(), rect.right(), 4):
            if delegate.target_at(option, messages.model().index(row, 0), QPointF(x, y)) == wanted:
                return QPoint(x, y)
    raise AssertionError(f"{wanted} is not drawn in row {row}")


def test_photos_show_as_thumbnails_made_off_the_gui_thread(
    qtbot: Any, any_db: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    import threading

    import skype_etl_gui.gui.presenters.browser as browser

    made_in: list[bool] = []
    real = browser.thumbnail

    def recording(archive: Any, sha256: str) -> Any:
        made_in.append(threading.current_thread() is threading.main_thread())
        return real(archive, sha256)

    monkeypatch.setattr(browser, "thumbnail", recording)
    sha = build_with_files(tmp_path, any_db.url)
    window, messages = open_files(qtbot, any_db.url)
    model = messages.model()
    qtbot.waitUntil(
        lambda: sha["beach.png"] in model.thumbnails and sha["broken.jpg"] in model.thumbnails, timeout=WAIT
    )
    photo = model.thumbnails[sha["beach.png"]]
    assert (photo.width(), photo.height()) == (213, 160)  # 800 x 600, its shape kept, in 240 x 160
    assert photo.pixelColor(100, 80).name() == "#3080c0"
    assert model.thumbnails[sha["broken.jpg"]] is False  # "no preview", drawn in its box
    assert made_in and not any(made_in)  # every one in the reader's thread
    # the box is the same before and after the thumbnail came: nothing moves
    assert messages.visualRect(model.index(0, 0)).height() > 160
    first = messages.itemDelegate().layout(option_of(messages, 0), model.index(0, 0))
    assert [s for s, _ in first.boxes] == [sha["beach.png"]]
    assert model.index(3, 0).data().endswith("📎 old.pdf (not in the archive)")
    window.grab().save(str(tmp_path / "files.png"))


def test_a_quote_is_set_off_and_a_link_opens_on_a_click(qtbot: Any, db: Any, tmp_path: Path) -> None:
    from skype_etl_gui.gui.views.message_delegate import QUOTED

    build_with_files(tmp_path, db.url)
    window, messages = open_files(qtbot, db.url)
    model = messages.model()
    assert (
        model.index(1, 0).data().endswith("> Bob: what time?\nat 5, the plan is at https://example.org/plan. See you")
    )
    layout = messages.itemDelegate().layout(option_of(messages, 1), model.index(1, 0))
    block, blocks = layout.document.begin(), []
    while block.isValid():
        blocks.append((block.text(), block.userState() == QUOTED))
        block = block.next()
    assert blocks == [("Bob: what time?", True), ("at 5, the plan is at https://example.org/plan. See you", False)]
    opened: list[str] = []
    window.open_link = opened.append  # type: ignore[method-assign]
    qtbot.mouseClick(
        messages.viewport(), Qt.MouseButton.LeftButton, pos=point_of(messages, 1, "https://example.org/plan")
    )
    assert opened == ["https://example.org/plan"]  # the full stop ends the sentence, not the link
    menu = [action.text() for action in window.message_menu(model.index(1, 0)).actions()]
    assert menu == ["Copy text", "Open https://example.org/plan"]
    # a hit in a quote: the matched words highlighted where they are, after the quote's mark
    window.search_field.setText("time plan")
    window.search()
    results = view(window, "searchResults")
    qtbot.waitUntil(lambda: results.model().rowCount() == 1, timeout=WAIT)
    assert texts(results)[0].endswith("> Bob: what [time]? at 5, the [plan] is at https://example.org/[plan]. See you")
    assert highlighted(results, 0) == ["time", "plan", "plan"]


def test_save_a_stored_file_as(qtbot: Any, any_db: Any, tmp_path: Path) -> None:
    sha = build_with_files(tmp_path, any_db.url)
    window, messages = open_files(qtbot, any_db.url)
    model = messages.model()
    asked: list[str] = []
    target = tmp_path / "out" / "my beach.png"

    def ask(name: str) -> str:
        asked.append(name)
        return str(target)

    window.ask_save_path = ask  # type: ignore[method-assign]
    menu = [action.text() for action in window.message_menu(model.index(0, 0)).actions()]
    assert menu == ["Copy text", "Save beach.png as…"]
    assert [action.text() for action in window.message_menu(model.index(3, 0)).actions()] == ["Copy text"]
    # a folder that is not there: the reader's refusal is a line, nothing is written
    qtbot.mouseClick(messages.viewport(), Qt.MouseButton.LeftButton, pos=point_of(messages, 0, "attachment:0"))
    qtbot.waitUntil(lambda: "Could not save beach.png" in window.note.text(), timeout=WAIT)
    assert asked == ["beach.png"] and not target.parent.exists()
    target.parent.mkdir()
    window.message_menu(model.index(0, 0)).actions()[1].trigger()
    qtbot.waitUntil(lambda: window.note.text().startswith("Saved beach.png"), timeout=WAIT)
    assert target.read_bytes() == PHOTO and list(target.parent.iterdir()) == [target]
    # a file the archive lacks offers nothing to click; the unstored line is no link
    with pytest.raises(AssertionError):
        point_of(messages, 3, "attachment:0")
    assert sha["beach.png"]


def test_a_page_asked_after_thumbnails_is_read_before_them() -> None:
    """The reader's queue: thumbnails wait for any page or search asked meanwhile; each kind in its own order."""
    from skype_etl_gui.gui.reading import Requests

    requests = Requests()
    for n in range(3):
        requests.ask(("thumbnail", n), print, later=True)
    requests.ask(("older", 0), print)
    requests.ask(("search", 0), print)
    requests.ask(("thumbnail", 3), print, later=True)
    taken = [requests.get(timeout=1)[0] for _ in range(6)]
    assert taken == [("older", 0), ("search", 0), *(("thumbnail", n) for n in range(4))]
