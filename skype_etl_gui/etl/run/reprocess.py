"""Reprocess: re-derive every derived column and table from what the archive keeps verbatim.

An archive made by an earlier version holds each message's `content_raw`,
`properties`, `sender_raw` (or, before schema 2, the sender as the export wrote
it), type and version. `Reprocess` reads them back in key order, a page at a
time, runs the import's own `derive` on them, and writes only what differs, so
the archive becomes what a fresh import of the same export makes today, without
the export. It is a run of its own (`etl_runs.kind = 'reprocess'`): each page is
one transaction with its checkpoint, and a stopped reprocess continues from it.

Its stages, in order:
- `messages`: sender, text, details, edit and delete times, attachments, reactions, mentions
- `participants`: the thread never a member of itself, URL ids as ids, both people of a one-to-one chat
- `names`: event texts with the display names the whole archive knows (the import ends with this too)
- `replies`: `reply_to` where a quote names a message the archive holds (the import ends with this too)
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from typing import IO, Any, Generic, TypeVar

from ..errors import Cancelled, DatabaseError, StageFailure
from ..liveness import liveness, running, stopped
from ..load.base import PLAIN_STORED, REDERIVE_READ, Loader
from ..load.registry import open_for_reading
from ..load.upserts import CHILDREN
from ..records import Changes
from ..transform.derive import (
    NAMES_WANTED_SQL,
    derive,
    is_thread,
    json_list,
    members_of,
    properties_dict,
    wants_names,
)
from ..transform.encoding import to_json
from ..values import utc_now
from .context import ETLContext
from .ipc import (
    FrameWriter,
    ProducerFailure,
    child_command,
    failure_exception,
    frame,
    read_frame,
    serve,
    stopped_unexpectedly,
)

T = TypeVar("T")
STAGES = ("messages", "participants", "names", "replies")
PAGE = 2000  # messages a transaction
# the search index is made again once, at the messages' end, when the pages so far say that more than this share
# of all messages will have their texts rewritten (an archive of an earlier version): taking a message out of
# SQLite's index and in again costs about three times what indexing it afresh does (300,000: 4.7 s against 1.7 s)
REBUILD_SHARE = 1 / 3
REBUILD_AFTER = 2  # pages looked at before that is decided
# a page that changes nothing commits its checkpoint at most this often: each commit waits for the disk (83 pages of
# 300k messages spent 0.5 s of PostgreSQL's 4.4 s there)
CHECKPOINT_EVERY_S = 1.0
CONVERSATION_PAGE = 200
# messages to derive from which processes of their own read and derive them (each takes about 0.3 s to start)
WORKER_MESSAGES = 20_000
DERIVING_PROCESSES = max(1, min(4, os.cpu_count() or 1))  # each with its run of keys
REDERIVE_COMMAND = child_command("skype_etl_gui.etl.run.rederive_worker")
KEY_PAGE = 200  # messages read by their keys in one query
_COLUMN = {name: index for index, name in enumerate(REDERIVE_READ)}
_KEY, _STORED = slice(0, 3), slice(_COLUMN["sender_id"], len(REDERIVE_READ))  # the key: (owner, conversation, id)


@dataclass
class ReprocessProgress:
    stage: str
    done: int  # messages (or conversations) looked at in this stage
    total: int
    changed: int  # rows rewritten so far, all stages
    elapsed_s: float

    @property
    def percent(self) -> float:
        """Of the whole reprocess: the messages stage is most of the work."""
        weights = {
            "messages": (0, 72),
            "search index": (72, 8),
            "participants": (80, 12),
            "names": (92, 6),
            "replies": (98, 2),
        }
        start, span = weights[self.stage]
        return start + span * (min(self.done / self.total, 1.0) if self.total else 1.0)


Listener = Callable[[ReprocessProgress], None]


class Rederiver:
    """The stages, over one open loader; the import's end uses `names` and `replies` too."""

    def __init__(
        self,
        loader: Loader,
        run_id: str,
        stop: threading.Event | None = None,
        on_progress: Listener | None = None,
        page: int = PAGE,
        worker: bool | None = None,
    ) -> None:
        """`worker`: the messages read and derived by a process of their own (None: when there are many)."""
        self.loader = loader
        self.worker = worker
        self.run_id = run_id
        self.stop = stop or threading.Event()
        self.on_progress = on_progress
        self.page = page
        self.changed = 0
        self.examined = 0
        self.context = ETLContext(run_id=run_id)  # its warnings, as the import records them
        self.t0 = time.perf_counter()
        self._owners: dict[str, str | None] | None = None
        self.reindex = False  # the search index is made again at the messages' end (see REBUILD_SHARE)
        self._checkpointed = 0.0  # when the last checkpoint was written (time.monotonic)
        self._spare: list[tuple[subprocess.Popen[bytes], IO[bytes]]] = []  # deriving processes started early
        # who sent what in every conversation (Loader.senders_of), read beside the messages stage; right for each
        # conversation but those in `dirty`, whose messages that stage rewrote
        self._senders: _Ahead[list[tuple[Any, ...]]] | None = None
        self.dirty: set[tuple[str, str]] = set()

    # --- shared ----------------------------------------------------------------------------------
    @property
    def owners(self) -> dict[str, str | None]:
        if self._owners is None:
            self._owners = self.loader.run_owners()
        return self._owners

    def _check(self) -> None:
        if self.stop.is_set():
            raise Cancelled()

    def _report(self, stage: str, done: int, total: int) -> None:
        if self.on_progress is not None:
            self.on_progress(ReprocessProgress(stage, done, total, self.changed, time.perf_counter() - self.t0))

    def _write(self, changes: Changes, checkpoint: dict[str, Any] | None) -> None:
        """A page's changes with its checkpoint, in one transaction. A page with nothing to write commits its
        checkpoint only when the last was CHECKPOINT_EVERY_S ago: a resume then derives at most that much again."""
        changes.errors = self.context.drain_errors()
        nothing = not changes.changed_rows() and not changes.errors
        if checkpoint is not None and nothing and time.monotonic() - self._checkpointed < CHECKPOINT_EVERY_S:
            checkpoint = None
        if checkpoint is not None:
            self._checkpointed = time.monotonic()
            changes.checkpoint = {
                "run_id": self.run_id,
                "created_at": utc_now(),
                "messages": self.examined,
                **checkpoint,
            }
            changes.run_update = {
                "messages": self.examined,
                "errors": self.context.error_count,
                "heartbeat_at": utc_now(),
            }
        if changes.changed_rows() or changes.errors or checkpoint is not None:
            self.loader.write_changes(self.run_id, changes)
        self.changed += changes.changed_rows()

    # --- messages --------------------------------------------------------------------------------
    def messages(
        self,
        after: list[str] | None = None,
        where: str | None = None,
        names: dict[str, str] | None = None,
        stage: str = "messages",
        checkpoints: bool = True,
        ranges: list[list[Any]] | None = None,
    ) -> None:
        """Re-derive every message after the key `after` (those matching `where`), a page a transaction; or, from
        a checkpoint, those of `ranges` ([after, up to] keys each, None for no bound).

        Without `where`: all but the plain ones stored as derive() makes them (there is nothing to change there),
        after the child rows of versions that lost are pruned (a plain message's stale rows go there).
        """
        fresh = stage == "messages" and after is None and not ranges  # the whole stage, in this run
        if where is None:
            everything = self.loader.count_rows("messages")
            where = f"NOT {PLAIN_STORED}"
            children = True
            # what to derive, a conversation at a time: its sum, and where to cut it into runs of as many each
            counting = _Ahead(self.loader.target, lambda reader: reader.conversation_counts(None, where))
            try:
                self.changed += self.loader.prune_children()
            except BaseException:
                counting.cancel()
                raise
            counts = counting.result(self.stop)
            if counts is None:
                counts = self.loader.conversation_counts(None, where)
            total = sum(int(row[2]) for row in counts)
        else:
            everything, children, counts = 0, False, None
            total = self.loader.count_rows("messages", where)
        done = rewritten = 0
        in_worker = stage == "messages" and (
            self.worker if self.worker is not None else bool(self._spare) or _worth_processes(total)  # started: used
        )
        ranges = [list(r) for r in ranges] if ranges else [[after, None]]
        if in_worker and len(ranges) == 1 and ranges[0][1] is None:  # all after a key: cut into runs
            start = ranges[0][0]
            cuts = self.loader.split_keys(start, DERIVING_PROCESSES, where, counts if start is None else None)
            ranges = [
                [list(a) if a else None, list(u) if u else None]
                for a, u in zip([start, *cuts], [*cuts, None], strict=True)
            ]
        if in_worker:
            pages = self._worker_pages(ranges, where, names)
        else:
            pages = self._pages_here(ranges, where, names, children)
        try:
            for part, count, last, changes in pages:
                self._check()
                done += count
                if stage == "messages":
                    self.examined += count
                    rewritten += len(changes.messages)
                    self.dirty.update((row[-3], row[-2]) for row in changes.messages)  # (owner, conversation)
                    if not self.reindex and done >= REBUILD_AFTER * self.page:
                        self.defer_index(rewritten * total / done > REBUILD_SHARE * everything)
                        if fresh and in_worker and not self.reindex:
                            # few texts change: who sent what can be summed up now, beside the deriving
                            self._senders = _Ahead(self.loader.target, lambda reader: reader.senders_of(None))
                            fresh = False
                ranges[part][0] = last
                checkpoint = {
                    "stage": stage,
                    "ranges": [list(r) for r in ranges],
                    **({"reindex": True} if self.reindex else {}),
                }
                self._write(changes, checkpoint if checkpoints else None)
                self._report(stage, done, total)
        finally:
            pages.close()  # the deriving processes stop now, not when the stop's traceback is let go
            self.stop_deriving()  # any started early and not needed
        if stage == "messages":
            self.examined = max(self.examined, everything)  # the plain ones were looked at in the database
            if self.reindex:
                self._report("search index", 0, everything)
                self.loader.rebuild_search_index(lambda indexed: self._report("search index", indexed, everything))
                self.loader.search_deferred = self.reindex = False

    def derived_pages(
        self,
        after: list[str] | None,
        where: str,
        names: dict[str, str] | None,
        children: bool,
        upto: list[str] | None = None,
    ) -> Generator[tuple[int, list[str], Changes], None, None]:
        """Each page after the key `after` (up to `upto`), derived: (messages looked at, the key of the last, what
        changed)."""
        while True:
            self._check()
            rows = self.loader.message_page(after, self.page, where, upto)
            if not rows:
                return
            after = list(rows[-1][_KEY])
            yield len(rows), after, self._rederive(rows, names, children=children)
            if len(rows) < self.page:
                return

    def _pages_here(
        self, ranges: list[list[Any]], where: str, names: dict[str, str] | None, children: bool
    ) -> Generator[tuple[int, int, list[str], Changes], None, None]:
        """The pages of each range in turn, derived here: (the range's number, then as derived_pages)."""
        for part, (after, upto) in enumerate(ranges):
            for page in self.derived_pages(after, where, names, children, upto):
                yield (part, *page)

    def _worker_pages(
        self, ranges: list[list[Any]], where: str, names: dict[str, str] | None
    ) -> Generator[tuple[int, int, list[str], Changes], None, None]:
        """As _pages_here, each range read and derived by a process of its own on a connection of its own
        (worker_main), a page from each in turn, while this one writes: the deriving and the database's work
        overlap. A stop kills them; the pages they had derived and this one had not written are derived again on
        resume, from each range's place in the checkpoint."""
        settings = {
            "target": self.loader.target,
            "run_id": self.run_id,
            "page": self.page,
            "where": where,
            "names": names,
        }
        with contextlib.ExitStack() as stack:
            workers: list[tuple[subprocess.Popen[bytes], IO[bytes]]] = []
            try:
                for after, upto in ranges:
                    worker, stderr = self._spare.pop(0) if self._spare else _spawn()
                    stack.callback(stderr.close)
                    workers.append((worker, stderr))
                    assert worker.stdin is not None
                    try:
                        worker.stdin.write(frame({**settings, "after": after, "upto": upto}))
                        worker.stdin.close()
                    except BrokenPipeError:  # it ended before it was given its work (it was started early)
                        raise _ended(worker, stderr) from None
                going = list(range(len(workers)))
                while going:
                    for part in list(going):
                        page = _next_page(*workers[part])
                        if page is None:
                            going.remove(part)
                            continue
                        self.context.add_errors(page[2].errors)
                        page[2].errors = []
                        yield (part, *page)
            finally:
                for worker, _ in workers:
                    if worker.poll() is None:
                        worker.kill()
                for worker, _ in workers:
                    _end(worker)

    def start_deriving(self, count: int) -> None:
        """Start `count` deriving processes now, to be given their runs of keys later: starting one takes about
        0.2 s, which then overlaps the counting and cutting before the messages stage (and its pruning)."""
        self._spare += [_spawn() for _ in range(count)]

    def stop_deriving(self) -> None:
        """The processes started early and not given work: ended."""
        spare, self._spare = self._spare, []
        for worker, stderr in spare:
            _end(worker)
            stderr.close()

    def stop_reading_ahead(self) -> None:
        """The senders' sum, when the run stopped before the stage that wanted it: interrupted."""
        ahead, self._senders = self._senders, None
        if ahead is not None:
            ahead.cancel()

    def defer_index(self, wanted: bool = True) -> None:
        """From now on rewritten texts leave the search index be; it is made again at the messages' end."""
        if wanted and self.loader.search_rebuilds:
            self.loader.search_deferred = self.reindex = True

    def _rederive(self, rows: list[tuple[Any, ...]], names: dict[str, str] | None, children: bool) -> Changes:
        changes = Changes()
        stored_children = self._children(rows) if children else {}
        having = set().union(*(stored_children[table] for table in CHILDREN)) if children else set()  # their keys
        owners = self.owners
        c = _COLUMN
        for row in rows:
            owner, conv_id, msg_id = row[0], row[1], row[2]
            sender_raw = row[c["sender_raw"]]
            if sender_raw is None:
                sender_raw = row[c["sender_id"]]  # a row stored before schema 2 kept `from` as its sender
            values = (
                conv_id,
                sender_raw,
                row[c["sender_name"]],
                row[c["message_type"]],
                row[c["content_raw"]],
                properties_dict(row[c["properties"]]),
                json_list(row[c["amsreferences"]]),
                owner or owners.get(row[c["run_id"]]),  # a thread's ('') as its import read it: by its owner
            )
            derived = derive(*values)  # as the import does: without names first, then with them where wanted
            if names and wants_names(values[3], conv_id, values[4], derived.text):
                derived = derive(*values, names)
            for error_type, text in derived.warnings:
                self.context.record_error("reprocess", "warning", error_type, text, conv_id, msg_id, values[4])
            details = None if derived.details is None else to_json(derived.details)
            new = (derived.sender_id, derived.sender_name, derived.text, details, derived.edited_at, derived.deleted_at)
            if not _same_values(new, row[_STORED]):
                changes.messages.append((*new, owner, conv_id, msg_id))
            if children and (
                derived.attachments or derived.reactions or derived.mentions or (owner, conv_id, msg_id) in having
            ):
                version = row[c["version"]]
                # the tables are named as Derived's fields are
                made = {
                    table: {(conv_id, msg_id, *r, version, owner) for r in getattr(derived, table)}
                    for table in CHILDREN
                }
                key = (owner, conv_id, msg_id)
                if any(made[table] != stored_children[table].get(key, set()) for table in made):
                    changes.replaced.append(key)
                    for table, written in changes.children().items():
                        written.extend(made[table])
        return changes

    def _children(self, rows: list[tuple[Any, ...]]) -> dict[str, dict[tuple[str, str, str], set[tuple[Any, ...]]]]:
        first, last = rows[0][_KEY], rows[-1][_KEY]
        found: dict[str, dict[tuple[str, str, str], set[tuple[Any, ...]]]] = {}
        for table in CHILDREN:
            by_message: dict[tuple[str, str, str], set[tuple[Any, ...]]] = defaultdict(set)
            for child in self.loader.child_rows(table, first, last):
                by_message[(child[-1], child[0], child[1])].add(tuple(child))  # its owner is its last field
            found[table] = by_message
        return found

    # --- participants ----------------------------------------------------------------------------
    def participants(self, after: list[str] | None = None) -> None:
        """Members and senders as a fresh import makes them; what another export added is kept."""
        total = self.loader.count_rows("conversations")
        done = 0
        ahead, self._senders = self._senders, None
        read = ahead.result(self.stop) if ahead is not None and after is None else None
        sent: dict[tuple[str, str], list[tuple[Any, ...]]] | None = None
        if read is not None:
            sent = defaultdict(list)
            for row in read:
                sent[(row[0], row[1])].append(row)
        while True:
            self._check()
            conversations = self.loader.conversation_page(after, CONVERSATION_PAGE)
            if not conversations:
                break
            changes = self._participants(conversations, sent)
            done += len(conversations)
            after = list(conversations[-1][:2])
            self._write(changes, {"stage": "participants", "after": after})
            self._report("participants", done, total)

    def _participants(
        self, conversations: list[tuple[Any, ...]], sent: dict[tuple[str, str], list[tuple[Any, ...]]] | None
    ) -> Changes:
        """`sent`: Loader.senders_of for every conversation, read before the messages stage ended (right for all
        but those it rewrote a message of), or None to read them now."""
        keys = [(row[0], row[1]) for row in conversations]
        if sent is None:
            senders_rows = self.loader.senders_of(keys)
        else:
            dirty = [key for key in keys if key in self.dirty]
            senders_rows = [row for key in keys if key not in self.dirty for row in sent.get(key, ())]
            senders_rows += self.loader.senders_of(dirty) if dirty else []
        existing: dict[tuple[str, str], dict[str, tuple[Any, ...]]] = defaultdict(dict)
        for row in self.loader.participants_of(keys):
            existing[(row[0], row[1])][row[2]] = row[1:]  # (conversation, person, name, source)
        senders: dict[tuple[str, str], dict[str, tuple[Any, Any, str | None]]] = defaultdict(dict)
        runs: dict[tuple[str, str], set[str]] = defaultdict(set)  # the imports that stored a conversation's messages
        for owner, conv_id, sender_id, name, from_thread, sent_at, msg_id, run_id in senders_rows:
            runs[(owner, conv_id)].add(run_id)
            authored = bool(name) and not from_thread
            seen = senders[(owner, conv_id)].get(sender_id)
            moment = ("" if sent_at is None else str(sent_at), msg_id)
            if seen is None or (authored and (seen[2] is None or moment > seen[:2])):
                senders[(owner, conv_id)][sender_id] = (*moment, name if authored else None)
        changes = Changes()
        owners = self.owners
        for owner, conv_id, thread, run_id in conversations:
            key = (owner, conv_id)
            thread = properties_dict(thread)
            # the owner is a member of their one-to-one chat (an earlier version let two owners share one)
            members = members_of(conv_id, thread, owner or owners.get(run_id))
            for other in sorted(runs[key] - {run_id}, key=str):
                members += [m for m in members_of(conv_id, thread, owners.get(other)) if m not in members]
            wanted: dict[str, tuple[str, str | None]] = {m: ("member", None) for m in members}
            for sender_id, (_, _, name) in senders[key].items():
                source = wanted.get(sender_id, ("sender", None))[0]
                wanted[sender_id] = (source, name)
            stored = existing[key]
            for person in stored:
                if person not in wanted and _not_a_person(person):
                    changes.participants_gone.append((owner, conv_id, person))
            for person, (source, name) in wanted.items():
                had = stored.get(person)
                if had is None:
                    changes.participants.append((conv_id, person, name, source, owner))
                    continue
                # a name fills in once (what another export named stays); "" was an earlier version's NULL
                kept = name if had[2] == "" or (had[2] is None and name) else had[2]
                # a member stays one (another export may have listed them); a sender found a member becomes one
                role = "member" if "member" in (source, had[3]) else (had[3] or source)
                if (kept, role) != (had[2], had[3]):
                    changes.participant_names.append((kept, role, owner, conv_id, person))
        return changes

    # --- names and replies -----------------------------------------------------------------------
    def names(self, ranges: list[list[Any]] | None = None, checkpoints: bool = True) -> None:
        """Event texts again, now with every display name the archive knows (from a checkpoint: of `ranges`)."""
        if not self.loader.count_rows("messages", NAMES_WANTED_SQL):
            self._report("names", 0, 0)
            return
        self.messages(None, NAMES_WANTED_SQL, self.loader.known_names(), "names", checkpoints, ranges)

    def rederive_keys(self, keys: list[tuple[str, str, str]], names: dict[str, str]) -> None:
        """Those messages' texts again, with `names` (a page a transaction, without checkpoints)."""
        for start in range(0, len(keys), KEY_PAGE):
            self._check()
            rows = self.loader.messages_by_key(keys[start : start + KEY_PAGE])
            self._write(self._rederive(rows, names, children=False), None)

    def replies(self, quoting: list[tuple[str, str, str, str]] | None = None) -> None:
        """`reply_to` where a quote names a stored message: all of them, or only these (see finish_import)."""
        self._check()
        self.changed += self.loader.link_replies() if quoting is None else self.loader.link_quotes(quoting)
        self.loader.link_media()  # attachments made anew find their stored file again
        self._report("replies", 1, 1)


class _Ahead(Generic[T]):
    """A read done in a thread by a connection of its own (the database works with the interpreter lock let go)
    while this one goes on; `result()` waits for it, None when it failed (the caller reads it itself then).
    `cancel()` ends it at once, its statement interrupted: a stopped run leaves no read behind."""

    def __init__(self, target: Any, read: Callable[[Loader], T]) -> None:
        self._value: T | None = None
        self._reader: Loader | None = None
        self._cancelled = False
        self._lock = threading.Lock()  # the reader, between its thread (opening, closing) and cancel()
        self._thread = threading.Thread(target=self._read, args=(target, read), name="reprocess-ahead", daemon=True)
        self._thread.start()

    def _read(self, target: Any, read: Callable[[Loader], T]) -> None:
        try:
            reader = open_for_reading(target, missing_ok=False)
            assert reader is not None
            try:
                with self._lock:
                    if self._cancelled:
                        return
                    self._reader = reader
                reader.scan_once()
                self._value = read(reader)
            finally:
                with self._lock:
                    self._reader = None
                reader.close()
        except Exception:  # noqa: BLE001 - the caller reads it itself
            self._value = None

    def result(self, stop: threading.Event | None = None) -> T | None:
        """Its value, once read; a `stop` meanwhile interrupts the read and raises Cancelled."""
        while self._thread.is_alive():
            if stop is not None and stop.is_set():
                self.cancel()
                raise Cancelled()
            self._thread.join(0.05)
        return self._value

    def cancel(self) -> None:
        """Its read interrupted, and waited for (a few ms: the database stops the statement where it is). Asked
        again until it ends: an interrupt between two statements is lost."""
        while self._thread.is_alive():
            with self._lock:
                self._cancelled = True
                if self._reader is not None:
                    self._reader.interrupt()
            self._thread.join(0.05)


def _spawn() -> tuple[subprocess.Popen[bytes], IO[bytes]]:
    """A deriving process (worker_main), waiting for its settings; and the file its standard error goes to."""
    stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed with its process's end (stop_deriving, _worker_pages)
    try:
        return subprocess.Popen(REDERIVE_COMMAND, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr), stderr
    except BaseException:
        stderr.close()
        raise


def _end(worker: subprocess.Popen[bytes]) -> None:
    """A deriving process killed (unless it has ended) and waited for, its pipes closed."""
    if worker.poll() is None:
        worker.kill()
    worker.wait()
    for pipe in (worker.stdin, worker.stdout):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()


def _ended(worker: subprocess.Popen[bytes], stderr: IO[bytes]) -> StageFailure:
    """The run's failure when a deriving process ended without a word."""
    return StageFailure("reprocess", "WorkerFailed", stopped_unexpectedly("the deriving process", worker, stderr))


def _next_page(worker: subprocess.Popen[bytes], stderr: IO[bytes]) -> tuple[int, list[str], Changes] | None:
    """A deriving process's next page (messages looked at, the key of the last, what changed), or None after its
    last; its failure, or its end without a word, raised as the run's."""
    assert worker.stdout is not None
    head = read_frame(worker.stdout)
    if head == "done":
        return None
    if isinstance(head, ProducerFailure):
        raise failure_exception(head)
    changes = read_frame(worker.stdout) if head is not None else None
    if not isinstance(changes, Changes):
        raise _ended(worker, stderr)
    count, last = head
    return count, last, changes


def _worth_processes(messages: int) -> bool:
    """Whether deriving processes pay for their start (about 0.2 s each) for this many messages to derive."""
    return messages >= WORKER_MESSAGES and DERIVING_PROCESSES >= 2


def _not_a_person(person: str) -> bool:
    """A participant row an earlier version made wrongly: a thread (itself), or a URL instead of an id."""
    return is_thread(person) or person.startswith(("http://", "https://"))


def _same_values(new: tuple[Any, ...], stored: tuple[Any, ...]) -> bool:
    if new == stored:
        return True
    for value, old in zip(new, stored, strict=True):
        if value == old:
            continue
        # details: JSON text made now against JSON text (SQLite) or a parsed value (PostgreSQL's jsonb)
        if isinstance(value, str) and old is not None and not isinstance(old, str | int | float):
            if json.loads(value) == old:
                continue
        if isinstance(value, str) and isinstance(old, str) and value[:1] in "{[" and old[:1] in "{[":
            try:
                if json.loads(value) == json.loads(old):
                    continue
            except ValueError:
                pass
        return False
    return True


def finish_import(
    loader: Loader,
    run_id: str,
    stop: threading.Event | None = None,
    wanting: list[tuple[str, str, str]] | None = None,
    quoting: list[tuple[str, str, str, str]] | None = None,
    prune: bool = True,
) -> int:
    """The end of an import: rows of versions that lost pruned, event texts with every name now known, and
    replies linked. Rows changed.

    `wanting`: the messages whose text the import made with an id in it (the import knows them), or None
    to look at every message (a resumed import: the interrupted run's are not known).
    `quoting`: (owner, conversation, id, quoted id) of every quote, given when the import went into an empty
    archive that no other import wrote to meanwhile: then only these can link; None: look at all.
    `prune`: False when no message was stored twice (no child row can be of a losing version).
    """
    rederiver = Rederiver(loader, run_id, stop)
    if prune:
        rederiver.changed += loader.prune_children()
    if wanting is None:
        rederiver.names(checkpoints=False)
    elif wanting:
        rederiver.rederive_keys(wanting, loader.known_names())
    rederiver.replies(quoting)
    return rederiver.changed


class Reprocess:
    """`skype-etl reprocess`: one run over the whole archive, resumable, with progress."""

    def __init__(
        self, loader: Loader, on_progress: Listener | None = None, page: int = PAGE, worker: bool | None = None
    ) -> None:
        """`worker`: the messages read and derived by a process of their own (None: when there are many)."""
        self.loader = loader
        self.on_progress = on_progress
        self.page = page
        self.worker = worker
        self.stop = threading.Event()
        self.run_id = uuid.uuid4().hex

    def cancel(self) -> None:
        self.stop.set()

    def run(self) -> dict[str, Any]:
        """Returns a summary: status completed / cancelled / failed, messages looked at, rows changed."""
        loader = self.loader
        loader.ensure_schema()
        previous = next(iter(loader.unfinished_runs("reprocess")), None)
        checkpoint = (previous or {}).get("checkpoint") or {}
        started = utc_now()
        t0 = time.perf_counter()
        run = {
            "id": self.run_id,
            "kind": "reprocess",
            "database_url": loader.display_url,
            "status": "running",
            "started_at": started,
            "conversations": loader.count_rows("conversations"),
            **liveness(),
        }
        if previous is not None:
            run.update(resumed_from=previous["id"], checkpoint=checkpoint or None)
        running(self.run_id)
        try:
            return self._run(run, previous, checkpoint, t0)
        finally:
            stopped(self.run_id)

    def _run(
        self, run: dict[str, Any], previous: dict[str, Any] | None, checkpoint: dict[str, Any], t0: float
    ) -> dict[str, Any]:
        loader = self.loader
        loader.start_run(run, supersedes=previous["id"] if previous else None)
        rederiver = Rederiver(loader, self.run_id, self.stop, self.on_progress, self.page, self.worker)
        rederiver.examined = int(checkpoint.get("messages", 0)) if checkpoint else 0
        if checkpoint.get("stage") == "messages" and checkpoint.get("reindex"):
            rederiver.defer_index()  # stopped while the index waited to be made again: it still does
        status, error = "completed", None
        stages = list(_stages_from(checkpoint.get("stage")))
        try:
            if stages[0] == "messages" and (
                self.worker if self.worker is not None else _worth_processes(loader.count_rows("messages"))
            ):
                rederiver.start_deriving(len(_ranges(checkpoint) or ()) or DERIVING_PROCESSES)
            for stage in stages:
                ranges = _ranges(checkpoint) if stage == checkpoint.get("stage") else None
                if stage == "messages":
                    rederiver.messages(names=loader.known_names(), ranges=ranges)
                elif stage == "participants":
                    after = checkpoint.get("after") if stage == checkpoint.get("stage") else None
                    rederiver.participants(after if isinstance(after, list) and len(after) == 2 else None)
                elif stage == "names":
                    rederiver.names(ranges)
                else:
                    rederiver.replies()
        except Cancelled:
            status = "cancelled"
        except Exception as exc:  # noqa: BLE001 - recorded as a failed (resumable) run, told to the caller
            error = str(exc) if isinstance(exc, DatabaseError) else f"{type(exc).__name__}: {exc}"
            status = "failed"
            rederiver.context.record_error("reprocess", "fatal", type(exc).__name__, str(exc))
        finally:
            rederiver.stop_deriving()
            rederiver.stop_reading_ahead()
        loader.search_deferred = False  # a resume defers it again, from its checkpoint
        duration = round(time.perf_counter() - t0, 3)
        fields = {
            "status": status,
            "finished_at": utc_now(),
            "duration_s": duration,
            "messages": rederiver.examined,
            "errors": rederiver.context.error_count,
            "error_message": error,
            "telemetry": {"changed_rows": rederiver.changed},
        }
        try:
            loader.finish_run(self.run_id, fields, errors=rederiver.context.drain_errors())
        except Exception as exc:  # noqa: BLE001 - the database went away at the very end
            status, error = "failed", error or f"could not record the end of the reprocess: {exc}"
        return {
            "run_id": self.run_id,
            "status": status,
            "messages": rederiver.examined,
            "changed": rederiver.changed,
            "errors": rederiver.context.error_count,
            "duration_s": duration,
            "resumed": previous is not None,
            "database": loader.display_url,
            "error": error,
        }


def worker_main() -> int:
    """The deriving process (Rederiver._worker_pages): settings as one frame on stdin; for each page its head
    (messages looked at, the key of the last) and its Changes, with the warnings it recorded, then "done"."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C reaches the whole group; the parent decides
    settings = read_frame(sys.stdin.buffer)

    def derive_pages(out: FrameWriter) -> None:
        loader = open_for_reading(settings["target"], missing_ok=False)
        assert loader is not None
        try:
            rederiver = Rederiver(loader, settings["run_id"], page=settings["page"])
            after, where, names, upto = settings["after"], settings["where"], settings["names"], settings["upto"]
            pages = rederiver.derived_pages(after, where, names, True, upto)
            for count, last, changes in pages:
                changes.errors = rederiver.context.drain_errors()
                loader.prepare(changes)  # work the writing process need not do
                out.put((count, last))
                out.put(changes)
        finally:
            loader.close()
        out.put("done")

    return serve(sys.stdout.buffer, "reprocess", derive_pages)


def _ranges(checkpoint: dict[str, Any]) -> list[list[Any]] | None:
    """Where a checkpoint of the messages (or names) stage left each range of keys; None: from the stage's start
    (a checkpoint of schema 2 named keys without owners). One written before ranges named one key, `after`."""
    ranges = checkpoint.get("ranges")
    if ranges is None and checkpoint.get("after") is not None:
        ranges = [[checkpoint["after"], None]]

    def key(value: Any) -> bool:
        return value is None or (isinstance(value, list) and len(value) == 3)

    if (
        isinstance(ranges, list)
        and ranges
        and all(isinstance(r, list) and len(r) == 2 and all(map(key, r)) for r in ranges)
    ):
        return ranges
    return None


def _stages_from(stage: Any) -> Iterable[str]:
    start = STAGES.index(stage) if stage in STAGES else 0
    return STAGES[start:]
