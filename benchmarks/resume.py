"""The cost of resuming an import interrupted at 90 %, against a full import, and how soon a pause holds.

    python benchmarks/resume.py --messages 300000 --repeat 3

Target: the resume takes at most 20 % of a full import's time. The interrupted
import is cancelled at the first checkpoint past 90 % of the messages; the
resume then reads the bytes before the byte its checkpoint names, checking them
against the checkpoint's hash (a changed export is refused), and goes on there.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from typing import Any

from harness import arguments, best_of, child_main, import_export, line, make_sample, run_child


def interrupt_at_90(export: str, url: str, batch_size: int) -> dict[str, Any]:
    from skype_etl_gui.etl import ETLPipeline
    from skype_etl_gui.etl.extract import Extractor

    total = sum(1 for _ in _entries(Extractor(export)))
    pipeline = ETLPipeline(url, batch_size=batch_size)
    context = pipeline.new_context()
    context.subscribe("checkpoint", lambda c: c.get("messages", 0) >= 0.9 * total and pipeline.cancel())
    summary = pipeline.run(export, context=context)
    assert summary["status"] == "cancelled", summary
    return {"seconds": 0.0, "messages": summary["messages"], "total": total}


def _entries(extractor: Any) -> Any:
    from skype_etl_gui.etl.extract import MessageChunk

    for event in extractor.events():
        if isinstance(event, MessageChunk):
            yield from event.entries


def resume(export: str, url: str, batch_size: int) -> dict[str, Any]:
    from skype_etl_gui.etl import ETLPipeline

    start = time.perf_counter()
    summary = ETLPipeline(url, batch_size=batch_size).run(export, resume=True)
    assert summary["status"] == "completed" and summary["resumed"], summary
    return {
        "seconds": time.perf_counter() - start,
        "messages": summary["messages"] - summary["messages_skipped"],
        "skipped": summary["messages_skipped"],
    }


def pause_latency(export: str, url: str, batch_size: int) -> dict[str, Any]:
    """Pause at 8 moments of an import: how long until the pipeline holds (nothing more is written)."""
    import random
    import threading

    from skype_etl_gui.etl import ETLPipeline

    pipeline = ETLPipeline(url, batch_size=batch_size)
    result: dict[str, Any] = {}
    runner = threading.Thread(target=lambda: result.update(pipeline.run(export)))
    start = time.perf_counter()
    runner.start()
    latencies = []
    rng = random.Random(5)
    for _ in range(8):
        time.sleep(rng.uniform(0.1, 0.4))
        if not runner.is_alive():
            break
        asked = time.perf_counter()
        pipeline.pause()
        if pipeline.wait_until_holding(10):
            latencies.append(time.perf_counter() - asked)
        pipeline.resume()
    runner.join()
    return {"seconds": time.perf_counter() - start, "messages": result["messages"], "latencies": latencies}


KINDS = {
    "full": lambda export, db, n: import_export(export, f"sqlite:///{db}", n, parallel=None),
    "interrupt": lambda export, db, n: interrupt_at_90(export, f"sqlite:///{db}", n),
    "resume": lambda export, db, n: resume(export, f"sqlite:///{db}", n),
    "pause": lambda export, db, n: pause_latency(export, f"sqlite:///{db}", n),
}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(KINDS, sys.argv[1:])
        return
    args = arguments(__doc__)
    with tempfile.TemporaryDirectory() as tmp:
        export = args.export or make_sample(tmp, args.messages)
        fulls, resumes = [], []
        for i in range(args.repeat):
            fulls.append(run_child(__file__, "full", export, os.path.join(tmp, f"full-{i}.db"), args.batch_size))
            db = os.path.join(tmp, f"resumed-{i}.db")
            # enough batches that one ends between 90 % and the end
            run_child(__file__, "interrupt", export, db, min(args.batch_size, max(args.messages // 40, 100)))
            resumes.append(run_child(__file__, "resume", export, db, args.batch_size))
        paused = run_child(__file__, "pause", export, os.path.join(tmp, "paused.db"), args.batch_size)
    full, resumed = best_of(fulls), best_of(resumes)
    print(f"export: {os.path.basename(export)}, best of {args.repeat}")
    print(f"{resumed['skipped']:,} messages skipped on resume")
    print(line("full import", full))
    print(line("resume at 90 %", resumed))
    print(f"resume / full: {resumed['seconds'] / full['seconds']:.1%} (target <= 20 %)")
    waits = sorted(paused["latencies"])
    if waits:
        print(
            f"pause takes effect after: median {waits[len(waits) // 2] * 1000:.0f} ms, "
            f"longest {waits[-1] * 1000:.0f} ms over {len(waits)} pauses (target <= 250 ms)"
        )


if __name__ == "__main__":
    main()
