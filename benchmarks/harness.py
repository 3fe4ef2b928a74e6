"""What the benchmarks share: sample exports, one measurement per child process, the import itself.

Each measurement runs in a fresh process; its peak RSS is the most that process
and its worker held at once, sampled every 10 ms.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def make_sample(folder: str, messages: int) -> str:
    from skype_etl_gui.sample import write_sample

    export = os.path.join(folder, f"sample-{messages}.tar")
    print(f"writing a sample export of {messages:,} messages ...", flush=True)
    write_sample(export, messages=messages, seed=7)
    return export


class PeakMemory:
    """The largest resident memory this process and its children held at once, sampled every 10 ms.

    Not getrusage: on Linux a process's ru_maxrss carries over what the process
    that forked it held (and a vforked child shares its parent's), so a child of
    a big parent reports the parent's peak. The sampler misses nothing that lasts
    longer than a sample.
    """

    def __init__(self, interval_s: float = 0.01) -> None:
        import psutil

        self.process = psutil.Process()
        self.peak = 0
        self.interval_s = interval_s
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self) -> None:
        import psutil

        while not self._stop.is_set():
            total = 0
            try:
                total = self.process.memory_info().rss
                for child in self.process.children(recursive=True):
                    total += child.memory_info().rss
            except psutil.Error:
                pass
            self.peak = max(self.peak, total)
            self._stop.wait(self.interval_s)

    def stop_mb(self) -> float:
        self._stop.set()
        self.thread.join()
        return self.peak / (1024 * 1024)


def import_export(export: str, url: str, batch_size: int, parallel: bool) -> dict[str, Any]:
    from skype_etl_gui.etl import ETLPipeline

    start = time.perf_counter()
    summary = ETLPipeline(url, batch_size=batch_size, parallel=parallel).run(export)
    assert summary["status"] == "completed", summary
    return {"seconds": time.perf_counter() - start, "messages": summary["messages"]}


def run_child(script: str, kind: str, export: str, target: str, batch_size: int) -> dict[str, Any]:
    """Run `script --child KIND` in a fresh process; returns the JSON it prints last."""
    out = subprocess.run(
        [
            sys.executable,
            script,
            "--child",
            kind,
            "--export",
            export,
            "--target",
            target,
            "--batch-size",
            str(batch_size),
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def child_main(kinds: dict[str, Callable[[str, str, int], dict[str, Any]]], argv: list[str]) -> None:
    kind, export, target, batch_size = argv[1], argv[3], argv[5], int(argv[7])
    memory = PeakMemory()
    result = kinds[kind](export, target, batch_size)
    result["peak_rss_mb"] = memory.stop_mb()
    print(json.dumps(result))


def best_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return min(runs, key=lambda r: r["seconds"])


def line(label: str, result: dict[str, Any], floor: dict[str, Any] | None = None) -> str:
    text = (
        f"{label:<22}: {result['seconds']:6.2f} s {result['messages'] / result['seconds']:>9,.0f} msg/s  "
        f"peak RSS {result['peak_rss_mb']:4.0f} MB"
    )
    if floor is not None:
        text += f"  ratio {result['seconds'] / floor['seconds']:.2f}x the floor"
    return text


def measure_all(
    script: str,
    kinds: list[str],
    export: str,
    batch_size: int,
    repeat: int,
    target: Callable[[str, int], tuple[str, Callable[[], None]]],
) -> dict[str, dict[str, Any]]:
    """The best of `repeat` runs of each kind; `target(kind, i)` gives where to import and how to clean up."""
    best = {}
    for kind in kinds:
        runs = []
        for i in range(repeat):
            where, cleanup = target(kind, i)
            try:
                runs.append(run_child(script, kind, export, where, batch_size))
            finally:
                cleanup()
        best[kind] = best_of(runs)
    return best


def arguments(description: str | None, default_messages: int = 300_000) -> Any:
    import argparse

    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=default_messages, help="size of the sample export to make")
    parser.add_argument("--export", help="an existing export instead of a sample")
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=1, help="take the best of this many runs of each")
    return parser.parse_args()


def postgres_server() -> Any:
    """A throwaway PostgreSQL server (fsync on, as a user's would be); the caller stops it."""
    from tests.pgserver import PostgresServer, find_bindir

    bindir = find_bindir()
    if bindir is None:
        sys.exit("PostgreSQL is not installed")
    return PostgresServer(bindir, fsync=True).start()


def fresh_database(server: Any) -> tuple[str, Callable[[], None]]:
    name = server.create_database()
    return server.url(name), lambda: server.drop_database(name)
