"""skype-etl: import a Skype export from the command line."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import shutil
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from . import __version__, applog
from .archive import ArchiveError, sender_label
from .errors_file import write_errors
from .etl import ETLPipeline
from .etl.errors import REJECTED, AlreadyImporting, Cancelled, DatabaseError, DatabaseUrlError, ExportError
from .etl.load import RESUMABLE, ErrorFilter, Loader, open_for_reading
from .etl.redact import redact_text
from .etl.run.context import SEVERITIES, Progress
from .etl.urls import parse_database_url
from .paths import default_database_url
from .units import duration_text, size_text

EXIT_OK, EXIT_FAILED, EXIT_REJECTED, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_OUTPUT_CLOSED = 141  # 128 + SIGPIPE, as a shell reports a program its pipe's reader left (`... | head`)
PLAIN_PROGRESS_EVERY_S = 5.0


class UsageError(Exception):
    """Bad arguments: exit 2 with one line."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="skype-etl", description="Import a Skype chat history export into a database."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    imp = commands.add_parser("import", help="import an export (.tar, .tar.gz or messages.json)")
    imp.add_argument("export", metavar="EXPORT")
    imp.add_argument(
        "--db", metavar="URL", help="sqlite:///file.db or postgresql://user@host/db (default: the local database)"
    )
    imp.add_argument("--resume", action="store_true", help="continue the last unfinished import of this export")
    imp.add_argument("--json", action="store_true", help="print a JSON summary as the last line of stdout")
    imp.add_argument("--batch-size", type=_positive_int, default=5000, metavar="N")
    imp.add_argument("--memory-limit", type=_positive_int, default=1024, metavar="MB")
    imp.add_argument("--quiet", action="store_true", help="no progress output")
    imp.add_argument("--debug", action="store_true", help="show tracebacks")

    runs = commands.add_parser("runs", help="list import runs, or one run with what it found of each conversation")
    runs.add_argument("run_id", nargs="?", metavar="RUN_ID", help="this run: its reconciliation, per conversation")
    runs.add_argument("--db", metavar="URL")
    runs.add_argument("--json", action="store_true")
    runs.add_argument("--debug", action="store_true")

    db = commands.add_parser("db", help="the archive's database: roles for a shared archive on PostgreSQL")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="DB_COMMAND")
    grant = db_commands.add_parser("grant-reader", help="let a PostgreSQL role read the archive, and only read it")
    grant.add_argument("role", metavar="ROLE", help="an existing role (CREATE ROLE name LOGIN PASSWORD '…')")
    grant.add_argument("--db", metavar="URL", help="postgresql://owner@host/archive (an importer that made it)")
    grant.add_argument("--debug", action="store_true")

    media = commands.add_parser("media", help="the export's photos and files, as stored in the archive")
    media_commands = media.add_subparsers(dest="media_command", required=True, metavar="MEDIA_COMMAND")
    get = media_commands.add_parser("get", help="one stored file's bytes, to a file or stdout")
    get.add_argument("sha256", metavar="SHA256")
    get.add_argument("--db", metavar="URL")
    get.add_argument("-o", "--output", metavar="FILE", help="write here (never over an existing file)")
    get.add_argument("--debug", action="store_true")
    export = media_commands.add_parser("export", help="every stored file, a folder a conversation, original names")
    export.add_argument("folder", metavar="DIR")
    export.add_argument("--db", metavar="URL")
    export.add_argument("--conversation", metavar="ID", help="only this conversation's")
    export.add_argument("--quiet", action="store_true")
    export.add_argument("--debug", action="store_true")

    errors = commands.add_parser("errors", help="list skipped or repaired records and failures")
    errors.add_argument("--db", metavar="URL")
    errors.add_argument("--run", metavar="ID", help="only this run's (see: skype-etl runs)")
    errors.add_argument("--severity", choices=SEVERITIES, help="warning: repaired; error: skipped; fatal: run stopped")
    errors.add_argument("--phase", choices=("extract", "transform", "load"))
    errors.add_argument("--type", metavar="TYPE", help="an error type, such as InvalidTimestamp")
    errors.add_argument("--search", metavar="TEXT", help="only errors whose message, type, ids or record contain TEXT")
    output = errors.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="a JSON array of the etl_errors rows")
    output.add_argument("--csv", action="store_true", help="CSV with a header line")
    errors.add_argument("--debug", action="store_true")

    again = commands.add_parser(
        "reprocess",
        help="re-read every stored message with this version's rules (no export needed)",
        description="Re-derive texts, details, attachments, participants, reactions, mentions and replies "
        "from what the archive keeps verbatim. Resumes a stopped reprocess. Only rows that change are written.",
    )
    again.add_argument("--db", metavar="URL")
    again.add_argument("--json", action="store_true", help="print a JSON summary as the last line of stdout")
    again.add_argument("--quiet", action="store_true", help="no progress output")
    again.add_argument("--debug", action="store_true", help="show tracebacks")

    search = commands.add_parser(
        "search",
        help="search every message of the archive (newest first)",
        description='Words (all must appear, any order, case and accents ignored), "a phrase", prefix*, -word, '
        "from:ID_OR_NAME, in:CONVERSATION_ID_OR_NAME, after:YYYY-MM-DD (included), before:YYYY-MM-DD.",
    )
    search.add_argument(
        "query",
        metavar="QUERY",
        nargs="*",
        help="its words, quoted or not; a phrase quoted for the shell too: brown '\"quick fox\"' -lazy from:anna",
    )
    search.add_argument("--db", metavar="URL")
    search.add_argument("--limit", type=_positive_int, default=50, metavar="N")
    search.add_argument("--offset", type=int, default=0, metavar="N", help="skip this many hits (the next page)")
    search.add_argument("--json", action="store_true", help="one JSON object a hit, a line each")
    search.add_argument("--debug", action="store_true")

    show = commands.add_parser("show", help="print a conversation as readable text")
    show.add_argument(
        "conversation",
        metavar="CONVERSATION",
        help="its id, or its name as the archive browser lists it (a part of it will do when only one has it)",
    )
    show.add_argument("--db", metavar="URL")
    show.add_argument("--owner", metavar="ID", help="whose, when several exports hold a chat of that id")
    show.add_argument("--around", metavar="ID", help="the messages around this message (else the newest)")
    show.add_argument("--limit", type=_positive_int, default=50, metavar="N")
    show.add_argument("--json", action="store_true", help="one JSON object a message, a line each")
    show.add_argument("--debug", action="store_true")

    sample = commands.add_parser("sample", help="write a realistic synthetic export")
    sample.add_argument("out", metavar="OUT", help="a .tar, .tar.gz or .json path")
    sample.add_argument("--messages", type=_positive_int, default=1000, metavar="N")
    sample.add_argument("--seed", type=int, default=1, metavar="S")
    sample.add_argument("--debug", action="store_true")
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value


def _database(args: argparse.Namespace, announce: bool) -> str:
    if args.db:
        return str(args.db)
    url = default_database_url()
    if announce:
        print(f"Database: {parse_database_url(url).path} (the local default)", file=sys.stderr)
    return url


# --- progress -------------------------------------------------------------------------
class ProgressReporter:
    """A live bar on a terminal, a plain line every few seconds otherwise."""

    def __init__(self, stream: TextIO, memory_limit_mb: float) -> None:
        self.stream = stream
        self.memory_mb = 0.0
        self.memory_limit_mb = memory_limit_mb
        self.bar: Any = None
        self.last_line = 0.0
        if stream.isatty():
            from tqdm import tqdm

            # the width asked once, with a fallback: a terminal that reports no size still gets a bar
            self.bar = tqdm(
                total=100,
                unit="%",
                file=stream,
                ncols=shutil.get_terminal_size().columns or 80,
                bar_format="{l_bar}{bar}| {postfix}",
            )

    def on_memory(self, sample: Any) -> None:
        self.memory_mb = sample.rss_mb

    def on_error(self, record: Any) -> None:
        """A lost database is said at once: the bar would otherwise just stand still."""
        if record.error_type != "ConnectionLost":
            return
        text = f"reconnecting to the database… ({record.message})"
        if self.bar is not None:
            self.bar.set_postfix_str(text, refresh=True)
        else:
            print(f"progress: {text}", file=self.stream, flush=True)

    def on_progress(self, p: Progress) -> None:
        eta = duration_text(p.eta_s) if p.eta_s is not None else "?"
        text = f"{p.messages:,} messages, {p.rate:,.0f} msg/s, ETA {eta}"
        if self.memory_mb:  # none sampled yet: not "0 MB"
            text += f", memory {self.memory_mb:.0f} MB"
        if p.media_files:
            text += f", {p.media_files:,} media files ({size_text(p.media_bytes)})"
        if self.bar is not None:
            self.bar.n = round(p.percent, 1)
            self.bar.set_postfix_str(text, refresh=False)
            self.bar.refresh()
            return
        now = time.monotonic()
        if now - self.last_line >= PLAIN_PROGRESS_EVERY_S or p.percent >= 100:
            self.last_line = now
            print(f"progress: {p.percent:5.1f}% {text}", file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# --- commands ---------------------------------------------------------------------------
def _show_migration(step: str, number: int, steps: int) -> None:
    """An archive of an earlier version is migrated before the work: a line a step (a table may take a while)."""
    from .etl.load.schema import SCHEMA_VERSION

    print(
        f"Migrating the archive to schema {SCHEMA_VERSION}: {step} ({number} of {steps})", file=sys.stderr, flush=True
    )


def cmd_import(args: argparse.Namespace) -> int:
    url = _database(args, announce=not args.quiet)
    pipeline = ETLPipeline(url, batch_size=args.batch_size, memory_limit_mb=args.memory_limit)
    if not args.quiet:
        pipeline.on_migrate = _show_migration
    context = pipeline.new_context()
    reporter = None
    if not args.quiet:
        reporter = ProgressReporter(sys.stderr, args.memory_limit)
        context.subscribe("progress", reporter.on_progress)
        context.subscribe("memory", reporter.on_memory)
        context.subscribe("error", reporter.on_error)
    if args.resume and not args.quiet:

        def announce(checkpoint: dict[str, Any]) -> None:
            if checkpoint.get("restored"):
                print(
                    f"Resuming the interrupted import {checkpoint.get('run_id')}: "
                    f"{checkpoint.get('messages', 0):,} messages already imported are skipped",
                    file=sys.stderr,
                )

        context.subscribe("checkpoint", announce)
    interrupted: list[int] = []
    try:
        with _stopped_by_signals(pipeline.cancel, interrupted):
            summary = pipeline.run(args.export, resume=args.resume, context=context)
    finally:
        if reporter is not None:
            reporter.close()
    return _report(args, summary, interrupted)


@contextlib.contextmanager
def _stopped_by_signals(cancel: Callable[[], None], interrupted: list[int]) -> Iterator[None]:
    """Ctrl+C and SIGTERM call `cancel` (the work stops at its next batch) and are noted in `interrupted`."""

    def stop(signum: int, _frame: Any) -> None:
        interrupted.append(signum)
        cancel()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _report(args: argparse.Namespace, summary: dict[str, Any], interrupted: list[int]) -> int:
    status = summary["status"]
    if args.resume and not summary["resumed"] and not args.quiet:
        print(f"skype-etl: {summary['resume_note']}", file=sys.stderr)
    if status == "completed" and not args.quiet:
        print(
            f"Imported {summary['messages']:,} messages in {summary['conversations']:,} conversations "
            f"in {summary['duration_s']:.1f} s into {summary['database']}"
            + (
                f"; {summary['errors']:,} record(s) skipped or repaired "
                f"(see: skype-etl errors --run {summary['run_id']})"
                if summary["errors"]
                else ""
            ),
            file=sys.stderr,
        )
        media = summary.get("media") or {}
        if media.get("files") or media.get("missing"):
            print(_media_line(media), file=sys.stderr)
    elif status == "cancelled":
        print(
            f"skype-etl: stopped after {summary['messages']:,} messages; what was imported is kept "
            "(add --resume to the same command to continue from there)",
            file=sys.stderr,
        )
    elif status == "failed":
        print(
            f"skype-etl: error: {summary.get('error')}; what was imported so far is kept "
            "(fix the cause and import again; --resume continues from there if the export is unchanged; "
            f"{applog.where()})",
            file=sys.stderr,
        )
    if args.json:
        keys = (
            "run_id",
            "status",
            "conversations",
            "messages",
            "errors",
            "duration_s",
            "resumed",
            "messages_skipped",
            "database",
        )
        print(json.dumps({k: summary[k] for k in keys}))
    if status == "completed":
        return EXIT_OK
    if status == "cancelled":
        return EXIT_INTERRUPTED if interrupted else EXIT_FAILED
    return EXIT_FAILED


def _reader(args: argparse.Namespace) -> Loader:
    """The database to read from: never made or migrated by reading (a typo is one line, exit 2)."""
    loader = open_for_reading(_database(args, announce=False), missing_ok=False)
    assert loader is not None
    return loader


def cmd_runs(args: argparse.Namespace) -> int:
    if args.run_id:
        return _one_run(args)
    with _reader(args) as loader:
        runs = loader.runs()
    if args.json:
        print(json.dumps(runs, default=str))
        return EXIT_OK
    if not runs:
        print("No imports yet.")
    for run in runs:
        kind = run.get("kind") or "import"
        resumable = " (can be resumed)" if run["status"] in RESUMABLE and kind == "import" else ""
        if kind != "import":
            print(
                f"{run['id']}  {run['started_at']}  {run['status']:<9}  {kind}: "
                f"{run['messages'] or 0:,} messages looked at, {run['errors'] or 0:,} warnings"
            )
            continue
        print(
            f"{run['id']}  {run['started_at']}  {run['status']:<9}{resumable}  "
            f"{run['conversations'] or 0:,} conversations, {run['messages'] or 0:,} messages, "
            f"{run['errors'] or 0:,} errors  {run['export_path']}"
        )
    return EXIT_OK


def _media_line(media: dict[str, int]) -> str:
    """What the media phase did, for a person."""
    parts = [f"Media: {media['files']:,} files in the export, {media['stored']:,} stored ({size_text(media['bytes'])})"]
    for key, words in (
        ("duplicates", "the same as one stored before"),
        ("already", "stored by an earlier import"),
        ("missing", "named by messages but not in the export (expired)"),
        ("orphans", "named by no message (kept)"),
        ("skipped", "skipped (not media files)"),
    ):
        if media.get(key):
            parts.append(f"{media[key]:,} {words}")
    return "; ".join(parts)


def _one_run(args: argparse.Namespace) -> int:
    """A run and its reconciliation: for each conversation, the records in the export, stored and skipped."""
    with _reader(args) as loader:
        run = loader.run(args.run_id)
        if run is None:
            raise DatabaseError(f"{loader.display_url}: no run {args.run_id} (see: skype-etl runs)")
        conversations = loader.reconciliation(args.run_id)
    if args.json:
        print(json.dumps({**run, "conversations": conversations}, default=str))
        return EXIT_OK
    print(
        f"{run['id']}  {run['started_at']}  {run['status']}  {run.get('kind') or 'import'}  "
        f"{run['export_path'] or ''}  owner {run.get('owner_id') or run.get('export_user_id') or '-'}"
    )
    if not conversations:
        print("No conversations counted (a run of an earlier version, or one that counts none).")
        return EXIT_OK
    print(f"{'in export':>10} {'stored':>10} {'skipped':>8}  conversation")
    for row in conversations:
        name = f" ({row['display_name']})" if row["display_name"] else ""
        where = row["id"] or "(conversations without an id)"
        owner = f"  [owner {row['owner_id']}]" if row["owner_id"] else ""
        flag = "" if row["adds_up"] else f"  DOES NOT ADD UP ({row['skip_rows']:,} error rows)"
        print(f"{row['in_export']:>10,} {row['stored']:>10,} {row['skipped']:>8,}  {where}{name}{owner}{flag}")
    unbalanced = sum(not row["adds_up"] for row in conversations)
    total = [sum(row[k] for row in conversations) for k in ("in_export", "stored", "skipped")]
    print(
        f"{total[0]:>10,} {total[1]:>10,} {total[2]:>8,}  in all; "
        + (f"{unbalanced} conversation(s) do not add up" if unbalanced else "every conversation adds up")
    )
    return EXIT_OK


def cmd_db(args: argparse.Namespace) -> int:
    """`db grant-reader ROLE`: SELECT on the archive's tables for a role, now and for tables made later."""
    from .etl.load import open_existing

    loader = open_existing(_database(args, announce=False))  # an archive that exists; granting is a write
    try:
        loader.grant_reader(args.role)
    finally:
        loader.close()
    print(f"{args.role} can now read the archive in {loader.display_url} (and only read it).")
    return EXIT_OK


def cmd_media(args: argparse.Namespace) -> int:
    """`media get SHA256 [-o FILE]` and `media export DIR [--conversation ID]`."""
    from .etl.run.media import export_media

    with _reader(args) as loader:
        if args.media_command == "get":
            sha256 = args.sha256.strip().lower()
            if loader.media_file(sha256) is None:
                print(f"skype-etl: error: no stored file {sha256} in {loader.display_url}", file=sys.stderr)
                return EXIT_FAILED
            if args.output:
                try:
                    out = open(args.output, "xb")  # noqa: SIM115 - closed below
                except FileExistsError:
                    print(f"skype-etl: error: {args.output} exists; choose another name", file=sys.stderr)
                    return EXIT_REJECTED
            else:
                out = sys.stdout.buffer
            try:
                for chunk in loader.open_media(sha256):
                    out.write(chunk)
            finally:
                if out is not sys.stdout.buffer:
                    out.close()
                else:
                    out.flush()
            return EXIT_OK
        interrupted: list[int] = []
        stop = threading.Event()
        with _stopped_by_signals(stop.set, interrupted):
            try:
                done = export_media(loader, Path(args.folder), args.conversation, stop)
            except Cancelled:
                print("skype-etl: stopped; what was written is whole, exporting again goes on", file=sys.stderr)
                return EXIT_INTERRUPTED
    if not args.quiet:
        print(
            f"Exported {done.written:,} files ({size_text(done.bytes)}) into {done.folders:,} conversation "
            f"folders under {args.folder}; {done.already:,} were there already"
        )
    return EXIT_OK


def cmd_errors(args: argparse.Namespace) -> int:
    with _reader(args) as loader:
        ids = loader.error_ids(ErrorFilter(args.run, args.severity, args.phase, args.type, args.search))
        rows = loader.iter_errors(ids)  # a page at a time: a long log is never held whole
        if args.json or args.csv:
            write_errors(rows, sys.stdout, "json" if args.json else "csv")
            return EXIT_OK
        for row in rows:
            where = " ".join(x for x in (row["conversation_id"], row["message_id"]) if x)
            print(
                f"{row['created_at']}  {row['severity']:<7}  {row['phase']:<9}  {row['error_type']}  "
                f"{where}  {row['message']}"
            )
    if not ids:
        print("No errors recorded.")
    return EXIT_OK


def cmd_reprocess(args: argparse.Namespace) -> int:
    from .etl.load import open_existing
    from .etl.run.reprocess import Reprocess, ReprocessProgress

    url = _database(args, announce=not args.quiet)
    loader = open_existing(url)
    if not args.quiet:
        loader.on_migrate = _show_migration
    last = [0.0]

    def show(p: ReprocessProgress) -> None:
        now = time.monotonic()
        if now - last[0] >= PLAIN_PROGRESS_EVERY_S or p.percent >= 100:
            last[0] = now
            print(
                f"progress: {p.percent:5.1f}% {p.stage}: {p.done:,} of {p.total:,}, {p.changed:,} rows changed",
                file=sys.stderr,
                flush=True,
            )

    interrupted: list[int] = []
    try:
        job = Reprocess(loader, on_progress=None if args.quiet else show)
        with _stopped_by_signals(job.cancel, interrupted):
            summary = job.run()
    finally:
        loader.close()
    status = summary["status"]
    if not args.quiet:
        if summary["resumed"] and status == "completed":
            print("Continued the stopped reprocess.", file=sys.stderr)
        if status == "completed":
            print(
                f"Reprocessed {summary['messages']:,} messages in {summary['duration_s']:.1f} s: "
                f"{summary['changed']:,} rows changed in {summary['database']}"
                + (
                    f"; {summary['errors']:,} warning(s) (see: skype-etl errors --run {summary['run_id']})"
                    if summary["errors"]
                    else ""
                ),
                file=sys.stderr,
            )
        elif status == "cancelled":
            print(
                f"skype-etl: reprocess stopped after {summary['messages']:,} messages; what was rewritten is kept "
                "(run skype-etl reprocess again to continue from there)",
                file=sys.stderr,
            )
        else:
            print(
                f"skype-etl: error: {summary['error']}; the archive is consistent "
                f"(run skype-etl reprocess again to continue; {applog.where()})",
                file=sys.stderr,
            )
    if args.json:
        print(json.dumps(summary))
    if status == "completed":
        return EXIT_OK
    if status == "cancelled" and interrupted:
        return EXIT_INTERRUPTED
    return EXIT_FAILED


def cmd_sample(args: argparse.Namespace) -> int:
    from .sample import write_sample

    stats = write_sample(args.out, messages=args.messages, seed=args.seed)
    print(
        f"Wrote {args.out}: {stats.conversations} conversations, {stats.messages:,} message entries, "
        f"{stats.media_files} media files",
        file=sys.stderr,
    )
    return EXIT_OK


def _archive(args: argparse.Namespace) -> Any:
    """The archive, open for reading (one of an earlier version brought up to date first, a line a step)."""
    from .archive import open_archive

    return open_archive(_database(args, announce=False), _show_migration)


def cmd_search(args: argparse.Namespace) -> int:
    from .archive import QueryError

    try:
        with _archive(args) as archive:
            hits = archive.search(args.query, limit=args.limit, offset=args.offset)
    except QueryError as exc:
        print(f"skype-etl: search: {exc}", file=sys.stderr)
        return EXIT_REJECTED
    for hit in hits:
        if args.json:
            print(json.dumps(hit, ensure_ascii=False, default=str))
        else:
            who = sender_label(hit) or "?"
            print(f"{hit['sent_at']}  {hit['conversation_id']}  {who}: {hit['snippet']}  (id {hit['id']})")
    if not hits and not args.json:
        print("No messages found." if not args.offset else "No more messages.", file=sys.stderr)
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    with _archive(args) as archive:
        found = archive.find_conversations(args.conversation)
        if args.owner is not None:
            found = [c for c in found if c["owner_id"] == args.owner]
        if not found:
            raise ArchiveError(f"{args.conversation}: no conversation of that id or name in this archive")
        if len({c["id"] for c in found}) > 1:
            choices = "; ".join(f"{c['id']} ({c['name'] or 'no name'})" for c in found[:10])
            more = f"; and {len(found) - 10} more" if len(found) > 10 else ""
            raise ArchiveError(f"{args.conversation}: names {len(found)} conversations; give one's id: {choices}{more}")
        if len(found) > 1:
            raise ArchiveError(
                f"{found[0]['id']}: several exports hold a chat of this id; choose one with --owner "
                + " or --owner ".join(c["owner_id"] or "''" for c in found)
            )
        half = args.limit // 2
        messages = archive.messages(
            found[0]["owner_id"],
            found[0]["id"],
            around=args.around,
            before=args.limit if args.around is None else half,
            after=args.limit - half,
        )
    day = None
    for message in messages:
        if args.json:
            print(json.dumps(message, ensure_ascii=False, default=str))
            continue
        sent = str(message["sent_at"] or "")
        if sent[:10] != day:
            day = sent[:10]
            print(f"--- {day} ---")
        who = sender_label(message)
        flags = " (edited)" if message["edited_at"] else ""
        text = "(deleted)" if message["deleted_at"] else (message["content_text"] or "")
        files = "".join(f" [file: {a['file_name'] or '?'}]" for a in message["attachments"])
        print(f"{sent[11:16]}  {who}: {text}{files}{flags}")
    return EXIT_OK


COMMANDS = {
    "import": cmd_import,
    "runs": cmd_runs,
    "errors": cmd_errors,
    "db": cmd_db,
    "media": cmd_media,
    "reprocess": cmd_reprocess,
    "sample": cmd_sample,
    "search": cmd_search,
    "show": cmd_show,
}
HINTS = {
    ArchiveError: "",  # first: it is a DatabaseError, and the message says what to do
    AlreadyImporting: "",  # first: it is an ExportError, and the message says what to do
    ExportError: "choose the .tar from Skype's export page or the messages.json inside it",
    DatabaseUrlError: "",
    DatabaseError: "check the database URL, that the server runs and that you may write there",
}


EXCLUDED_WORD = re.compile(r"-[^-\s]")  # a search's -word (an option of ours starts with --, or is -h)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command == "search" and all(EXCLUDED_WORD.match(word) for word in extra):
        args.query += extra  # `skype-etl search cafe -brown`: an excluded word, not an option
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "search":
        args.query = " ".join(args.query)
    applog.setup("skype-etl")
    log = logging.getLogger("skype_etl_gui.cli")
    log.info("skype-etl %s", " ".join(sys.argv[1:] if argv is None else argv))
    try:
        code = COMMANDS[args.command](args)
        sys.stdout.flush()  # here, where a reader that left is told apart, not at the interpreter's exit
        return code
    except BrokenPipeError:
        return _output_closed(log)
    except REJECTED as exc:
        if getattr(args, "debug", False):
            traceback.print_exc()
        hint = next((h for cls, h in HINTS.items() if isinstance(exc, cls)), "")
        message = redact_text(str(exc))
        log.warning("rejected: %s", message)
        hint = "; ".join(h for h in (hint if hint not in message else "", applog.where()) if h)
        print(f"skype-etl: error: {message} ({hint})", file=sys.stderr)
        return EXIT_REJECTED
    except KeyboardInterrupt:
        print("skype-etl: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - a bug or an unforeseen failure: one line, the details on request
        if getattr(args, "debug", False):
            traceback.print_exc()
        log.exception("unexpected failure")
        print(
            f"skype-etl: error: unexpected failure: {type(exc).__name__}: {redact_text(str(exc))} "
            f"(please report it with the log; {applog.where()})",
            file=sys.stderr,
        )
        return EXIT_FAILED


def _output_closed(log: logging.Logger) -> int:
    """Whoever read the output stopped reading (`skype-etl search word | head`): no error line, and what is left
    to flush goes nowhere, not to a traceback at exit. What an import wrote is committed as always."""
    log.info("the output was closed by its reader")
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        os.close(devnull)
    return EXIT_OUTPUT_CLOSED


if __name__ == "__main__":
    sys.exit(main())
