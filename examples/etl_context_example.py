"""Watch an import through its ETLContext: progress, memory, errors, phases, checkpoints; pause and resume.

python examples/etl_context_example.py EXPORT.tar [sqlite:///history.db]
"""

from __future__ import annotations

import sys
import threading

from skype_etl_gui.etl import ETLPipeline


def main(export: str, database: str) -> int:
    pipeline = ETLPipeline(database, batch_size=1000)
    context = pipeline.new_context()
    context.subscribe(
        "progress", lambda p: print(f"progress: {p.percent:5.1f}%  {p.messages:,} messages  {p.rate:,.0f}/s")
    )
    context.subscribe("memory", lambda m: m.near_limit and print(f"memory near the limit: {m.rss_mb} MB"))
    context.subscribe("error", lambda e: print(f"{e.severity}: {e.error_type} in {e.conversation_id}: {e.message}"))
    context.subscribe("phase", lambda phase: print(f"phase {phase['name']}: {phase['status']}"))

    paused_once = threading.Event()

    def on_checkpoint(checkpoint: dict) -> None:
        # pause after the first committed batch, and resume a moment later from another thread
        if not paused_once.is_set():
            paused_once.set()
            pipeline.pause()
            print(f"paused after {checkpoint['messages']:,} messages")
            threading.Timer(0.5, lambda: (print("resuming"), pipeline.resume())).start()

    context.subscribe("checkpoint", on_checkpoint)
    summary = pipeline.run(export, context=context)
    print(
        f"{summary['status']}: {summary['messages']:,} messages, {summary['conversations']:,} conversations, "
        f"{summary['errors']:,} errors in {summary['duration_s']:.1f} s (run {summary['run_id']})"
    )
    return 0 if summary["status"] == "completed" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "sqlite:///history.db"))
