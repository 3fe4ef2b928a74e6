"""The small widgets every window builds the same way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QSplitter, QVBoxLayout, QWidget


def plain_label(name: str, text: str = "", wrap: bool = True) -> QLabel:
    """A label for text that may come from an export or a database: always shown as plain text, never rich."""
    label = QLabel(text)
    label.setObjectName(name)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(wrap)
    return label


def push_button(text: str, name: str, on_click: Callable[[], Any], tip: str = "") -> QPushButton:
    """A named button; `on_click` is called without the `checked` argument Qt sends."""
    button = QPushButton(text)
    button.setObjectName(name)
    if tip:
        button.setToolTip(tip)
    button.clicked.connect(lambda: on_click())
    return button


def above_details(table: QWidget, note: QLabel, details: QWidget, details_share: int) -> QSplitter:
    """A table above, and below it a line and the selected row's details: the person moves the split."""
    below = QWidget()
    layout = QVBoxLayout(below)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(note)
    layout.addWidget(details, 1)
    splitter = QSplitter(Qt.Orientation.Vertical)
    splitter.addWidget(table)
    splitter.addWidget(below)
    splitter.setStretchFactor(0, 3)
    splitter.setStretchFactor(1, details_share)
    return splitter
