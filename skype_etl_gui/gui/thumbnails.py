"""Thumbnails of stored photos, decoded in the reader job's thread (never the GUI thread) with QImageReader.

QImage is safe to make off the GUI thread (QPixmap is not); the window draws
the QImage it is handed. JPEG is decoded straight at the smaller size
(`setScaledSize`), so a 12-megapixel photo never lands whole in memory.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSize, Qt
from PySide6.QtGui import QImage, QImageReader

BOX = QSize(240, 160)  # a thumbnail fits in this, its shape kept
LARGEST = 64 << 20  # bytes: a larger file is not read whole for a thumbnail


def is_image(attachment: dict[str, Any]) -> bool:
    """A stored file a thumbnail can be made of: its content type (or, failing that, Skype's kind) says photo."""
    if not attachment.get("sha256"):
        return False
    content_type = str(attachment.get("content_type") or "").lower()
    if content_type:
        return content_type.startswith("image/")
    return str(attachment.get("media_type") or "").lower().startswith("picture")


def thumbnail(archive: Any, sha256: str, box: QSize = BOX) -> QImage | None:
    """The stored file as an image that fits `box` (turned as its EXIF says), or None: not stored, too large,
    or not an image Qt can read."""
    data = archive.read_media(sha256, LARGEST)
    if not data:
        return None
    buffer = QBuffer()
    buffer.setData(QByteArray(data))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QImageReader(buffer)
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid() and (size.width() > box.width() or size.height() > box.height()):
        reader.setScaledSize(size.scaled(box, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    buffer.close()
    if image.isNull():
        return None
    if image.width() > box.width() or image.height() > box.height():  # turned by EXIF after the scaling
        image = image.scaled(box, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
    return image
