"""The same export into SQLite and into PostgreSQL, each with and without the worker process.

python benchmarks/compare_targets.py --messages 300000 --repeat 3
"""

from __future__ import annotations

import os
import sys
import tempfile

from harness import (
    arguments,
    child_main,
    fresh_database,
    import_export,
    line,
    make_sample,
    measure_all,
    postgres_server,
)

KINDS = {
    "worker": lambda export, url, n: import_export(export, url, n, parallel=True),
    "single": lambda export, url, n: import_export(export, url, n, parallel=False),
}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(KINDS, sys.argv[1:])
        return
    args = arguments(__doc__)
    server = postgres_server()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            export = args.export or make_sample(tmp, args.messages)
            sqlite = measure_all(
                __file__,
                list(KINDS),
                export,
                args.batch_size,
                args.repeat,
                lambda kind, i: (f"sqlite:///{os.path.join(tmp, f'{kind}-{i}.db')}", lambda: None),
            )
            postgres = measure_all(
                __file__, list(KINDS), export, args.batch_size, args.repeat, lambda kind, i: fresh_database(server)
            )
    finally:
        server.stop()
    print(f"export: {os.path.basename(export)}, best of {args.repeat}")
    for target, results in (("sqlite", sqlite), ("postgresql", postgres)):
        for kind, result in results.items():
            print(line(f"{target}, {'worker' if kind == 'worker' else 'one process'}", result))
    for kind in KINDS:
        print(f"PostgreSQL / SQLite, {kind}: {postgres[kind]['seconds'] / sqlite[kind]['seconds']:.2f}x")


if __name__ == "__main__":
    main()
