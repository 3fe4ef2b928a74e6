"""Keeping values nested absurdly deep away from the parser.

ijson keeps, for every level it is inside, the path to that level as text, so
its memory grows with the square of the depth: 20,000 nested lists in a
message's properties took 1 GB, 200,000 took the machine. Real exports nest a
few levels. The guard reads each chunk before ijson does and replaces any value
that would go deeper than MAX_DEPTH with a JSON string saying it was left out.

It costs next to nothing on real exports: per chunk, at C speed, escapes are
neutralised, everything but quotes and brackets deleted, strings removed and
the depth profile of what is left summed up (`itertools.accumulate`). Only a
chunk that does go too deep is walked byte by byte.
"""

from __future__ import annotations

import itertools
import operator
from dataclasses import dataclass

# a message sits 5 levels down: the document, conversations, a conversation, its MessageList, the message
MESSAGE_DEPTH = 5
LIMIT_IN_MESSAGE = 64
MAX_DEPTH = MESSAGE_DEPTH + LIMIT_IN_MESSAGE
MARKER = "\ue000skype-etl: left out, nested deeper than 64 levels"  # a private-use character first: not user text

_STRUCTURE = b'"[]{}'
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in _STRUCTURE)
_STEPS = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")  # each bracket as 1 + its step: +1 or -1
_OPEN = frozenset(b"[{")
_CLOSE = frozenset(b"]}")
_QUOTE, _BACKSLASH = ord('"'), ord("\\")


@dataclass
class Cut:
    """A value left out: how many bytes of the export it took."""

    bytes_left_out: int


class DepthGuard:
    def __init__(self, limit: int = MAX_DEPTH) -> None:
        self.limit = limit
        self.depth = 0
        self.in_string = False
        self.escaped = False  # inside a string, the last byte was an unpaired backslash
        self.skipping = 0  # bytes left out of the value being skipped (0: not skipping)
        self.skip_floor = 0  # the depth at which the skipped value ends
        self.cuts: list[Cut] = []
        self.replacement = b'"' + MARKER.encode() + b'"'

    def filter(self, chunk: bytes) -> bytes:
        """The chunk as ijson may read it: the same object when nothing in it goes too deep."""
        if not self.skipping and not self.escaped and self._fast(chunk):
            return chunk
        return self._slow(chunk)

    def _fast(self, chunk: bytes) -> bool:
        """Follow the chunk at C speed; False (state untouched) when it goes too deep or needs a closer look."""
        tail = len(chunk) - len(chunk.rstrip(b"\\"))
        if tail % 2:
            return False  # ends on an unpaired backslash: the next chunk starts escaped
        structure = chunk.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_STRUCTURE)
        parts = structure.split(b'"')
        outside = parts[1::2] if self.in_string else parts[0::2]
        brackets = b"".join(outside)
        opens = brackets.count(b"[") + brackets.count(b"{")
        if self.depth + opens > self.limit:
            steps = map(operator.sub, brackets.translate(_STEPS), itertools.repeat(1))
            if max(itertools.accumulate(steps, initial=self.depth)) > self.limit:
                return False
        self.depth += 2 * opens - len(brackets)
        self.in_string = self.in_string != (len(parts) % 2 == 0)
        return True

    def _slow(self, chunk: bytes) -> bytes:
        out = bytearray()
        keep = out.append
        for byte in chunk:
            if self.in_string:
                if self.escaped:
                    self.escaped = False
                elif byte == _BACKSLASH:
                    self.escaped = True
                elif byte == _QUOTE:
                    self.in_string = False
            elif byte == _QUOTE:
                self.in_string = True
            elif byte in _OPEN:
                self.depth += 1
                if self.depth > self.limit and not self.skipping:
                    self.skip_floor = self.depth - 1
                    self.skipping = 1
                    out += self.replacement
                    continue
            elif byte in _CLOSE:
                self.depth -= 1
                if self.skipping and self.depth == self.skip_floor:
                    self.cuts.append(Cut(self.skipping + 1))
                    self.skipping = 0
                    continue
            if self.skipping:
                self.skipping += 1
            else:
                keep(byte)
        return bytes(out)

    def take_cuts(self) -> list[Cut]:
        cuts, self.cuts = self.cuts, []
        return cuts
