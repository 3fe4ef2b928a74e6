"""Two people's exports imported at the same time into one database, against each alone, measured in the same run.

Two sample exports of different owners (the second is the first's generator with another seed and another
userId). Each is imported alone into a fresh database, then both at once (two `skype-etl import` processes
started together) into another fresh one. The ratio: the pair's wall time over the longer import alone.

The target (issue 15): on PostgreSQL, at most 1.3x. SQLite takes turns by transaction and is shown for comparison.
Each line says how many cores the machine kept busy: an import alone that keeps every core busy leaves the
second nothing to run on, and the pair then takes the sum of the two, whatever the database does.

    python benchmarks/side_by_side.py --messages 150000 --repeat 2
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import psutil
from harness import ROOT, arguments, fresh_database, postgres_server

OTHER_OWNER = "8:live:.cid.0ther0wner0000ab"  # as long as the sample's: the JSON is rewritten in place


def make_pair(folder: str, messages: int) -> list[str]:
    from skype_etl_gui.sample import USER_ID, write_sample

    paths = []
    for seed, owner in ((3, USER_ID), (4, OTHER_OWNER)):
        path = os.path.join(folder, f"export-{seed}.json")
        write_sample(path, messages=messages, seed=seed)
        if owner != USER_ID:
            with open(path, "r+b") as f:
                head = f.read(200)
                f.seek(0)
                f.write(head.replace(USER_ID.encode(), owner.encode(), 1))
        paths.append(path)
    return paths


def start(export: str, url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "skype_etl_gui", "import", export, "--db", url, "--quiet", "--json"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = process.communicate()
    if process.returncode != 0:
        sys.exit(f"an import failed: {err.strip()}")
    return json.loads(out.strip().splitlines()[-1])


def busy_s() -> float:
    """CPU seconds the whole machine spent busy so far (the importers, their workers and the database server)."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def timed(exports: list[str], url: str) -> tuple[float, float]:
    """Wall time of importing `exports` into `url`, all started at once, and the cores kept busy meanwhile."""
    t0, busy0 = time.perf_counter(), busy_s()
    processes = [start(export, url) for export in exports]
    for process in processes:
        summary = finish(process)
        assert summary["status"] == "completed", summary
    seconds = time.perf_counter() - t0
    return seconds, (busy_s() - busy0) / seconds


def measure(
    exports: list[str], target: Callable[[], tuple[str, Callable[[], None]]], repeat: int
) -> dict[str, tuple[float, float]]:
    best: dict[str, tuple[float, float]] = {}
    for _ in range(repeat):
        for label, chosen in (("first alone", exports[:1]), ("second alone", exports[1:]), ("both at once", exports)):
            url, cleanup = target()
            try:
                result = timed(chosen, url)
            finally:
                cleanup()
            best[label] = min(best.get(label, result), result)
    return best


def main() -> None:
    args = arguments(__doc__, default_messages=150_000)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        exports = make_pair(tmp, args.messages)
        counter = [0]

        def sqlite_target() -> tuple[str, Callable[[], None]]:
            counter[0] += 1
            path = os.path.join(tmp, f"archive-{counter[0]}.db")
            return f"sqlite:///{path}", lambda: None

        results["sqlite"] = measure(exports, sqlite_target, args.repeat)
        server = postgres_server()
        try:
            results["postgresql"] = measure(exports, lambda: fresh_database(server), args.repeat)
        finally:
            server.stop()
    cores = psutil.cpu_count() or 1
    print(f"two exports of {args.messages:,} message entries each, two owners; best of {args.repeat}; {cores} cores")
    for target, best in results.items():
        longer = max(best["first alone"][0], best["second alone"][0])
        for label, (seconds, busy) in best.items():
            print(f"{target + ': ' + label:<28}: {seconds:6.2f} s, {busy:.1f} of {cores} cores busy")
        ratio = best["both at once"][0] / longer
        print(f"{target + ': ratio':<28}: {ratio:.2f}x the longer alone (target 1.3x on PostgreSQL)")


if __name__ == "__main__":
    main()
