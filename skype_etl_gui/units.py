"""Figures as a person reads them."""

from __future__ import annotations


def duration_text(seconds: float) -> str:
    """m:ss, or h:mm:ss from an hour on."""
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def count_text(count: int, noun: str) -> str:
    """'1 message', '2,048 messages'."""
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def size_text(size: float) -> str:
    """'71 B', '6.2 KB', '2.0 MB', '1.4 GB' (of 1,024): as messages name their files' sizes."""
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""
