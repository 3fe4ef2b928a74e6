"""The same export into SQLite and into PostgreSQL, each with and without the worker process.

python benchmarks/compare_targets.py --messages 300000 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

from harness import ROOT, best_of, child_main, import_export, line, make_sample, run_child

KINDS = {
    "worker": lambda export, url, n: import_export(export, url, n, parallel=True),
    "single": lambda export, url, n: import_export(export, url, n, parallel=False),
}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(KINDS, sys.argv[1:])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=300_000)
    parser.add_argument("--export")
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from tests.pgserver import PostgresServer, find_bindir

    bindir = find_bindir()
    if bindir is None:
        sys.exit("PostgreSQL is not installed")
    server = PostgresServer(bindir, fsync=True).start()
    results = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            export = args.export or make_sample(tmp, args.messages)
            for target in ("sqlite", "postgresql"):
                for kind in KINDS:
                    runs = []
                    for i in range(args.repeat):
                        if target == "sqlite":
                            url = f"sqlite:///{os.path.join(tmp, f'{kind}-{i}.db')}"
                            runs.append(run_child(__file__, kind, export, url, args.batch_size))
                        else:
                            name = server.create_database()
                            runs.append(run_child(__file__, kind, export, server.url(name), args.batch_size))
                            server.drop_database(name)
                    results[(target, kind)] = best_of(runs)
    finally:
        server.stop()
    print(f"export: {os.path.basename(export)}, best of {args.repeat}")
    for (target, kind), result in results.items():
        print(line(f"{target}, {'worker' if kind == 'worker' else 'one process'}", result))
    for kind in KINDS:
        ratio = results[("postgresql", kind)]["seconds"] / results[("sqlite", kind)]["seconds"]
        print(f"PostgreSQL / SQLite, {kind}: {ratio:.2f}x")


if __name__ == "__main__":
    main()
