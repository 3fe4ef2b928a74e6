"""Two imports at once from one asyncio event loop, which stays free while they run.

python examples/async_example.py EXPORT.tar FIRST_DB_URL SECOND_DB_URL
"""

from __future__ import annotations

import asyncio
import sys

from skype_etl_gui.etl import ETLPipeline


async def heartbeat(stop: asyncio.Event) -> int:
    """Ticks while the imports run: proof that they do not block the loop."""
    ticks = 0
    while not stop.is_set():
        await asyncio.sleep(0.05)
        ticks += 1
    return ticks


async def main(export: str, first: str, second: str) -> int:
    stop = asyncio.Event()
    beat = asyncio.create_task(heartbeat(stop))
    summaries = await asyncio.gather(ETLPipeline(first).run_async(export), ETLPipeline(second).run_async(export))
    stop.set()
    ticks = await beat
    for summary in summaries:
        print(f"{summary['database']}: {summary['status']}, {summary['messages']:,} messages")
    print(f"the event loop ticked {ticks} times meanwhile")
    return 0 if all(s["status"] == "completed" for s in summaries) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(*sys.argv[1:4])))
