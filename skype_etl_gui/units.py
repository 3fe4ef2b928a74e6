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
