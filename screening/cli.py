"""The `screening` command: each subcommand parses, calls one library function, and the
project's exceptions map to the contract's exit codes in one place (API.md):
0 success; 1 the work failed and nothing was changed; 2 bad usage; 3 some rows rejected.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from indexes import IndexStoreError, compact
from indexes.health import check_database
from loaders.catalog import DATABASES, UnknownDatabaseError, database
from loaders.load import DataDirError, LoadUsageError, load
from loaders.readers import FORMATS, UnreadableFileError, Upload
from screening.demo import DemoError
from screening.keys import ROLES, KeyFileError, KeyRequestError, add_key
from screening.settings import ServeError, add_arguments, from_arguments

LOAD_NICENESS = 10
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_REJECTS = 0, 1, 2, 3


class UsageError(Exception):
    pass


def _load(args: argparse.Namespace) -> int:
    # A load is background work beside latency-bound lookups on the same cores: yield to them.
    os.nice(LOAD_NICENESS)
    uploads = [Upload.of(name, args.format) for name in args.files]
    result = load(
        Path(args.data),
        args.db,
        args.owner,
        uploads,
        args.report and Path(args.report),
        progress=sys.stderr.isatty(),
    )
    print(result.summary())
    return EXIT_REJECTS if result.rejected else EXIT_OK


def _generate(args: argparse.Namespace) -> int:
    from loaders.generate import generate

    try:
        written = generate(database(args.db).code, args.records, Path(args.out), seed=args.seed)
    except ValueError as error:
        raise UsageError(str(error)) from None
    print(f"{args.out}: {written:,} {args.db} rows")
    return EXIT_OK


def _loaded(args: argparse.Namespace) -> Iterator[tuple[str, Path]]:
    """(code, folder) of `--db`, or of every database with data, under `--data`."""
    codes = [database(args.db).code] if args.db else list(DATABASES)
    for code in codes:
        folder = Path(args.data) / code
        if (folder / "MANIFEST").exists():
            yield code, folder
        elif args.db:
            raise DataDirError(f"{folder}: nothing loaded for {code}")


def _check(args: argparse.Namespace) -> int:
    for code, folder in _loaded(args):
        health = check_database(folder, code)
        print(
            f"{code}: generation {health.generation} of {health.updated}, "
            f"{health.live:,} live records, every checksum good"
        )
        for segment in health.segments:
            print(segment.line())
    return EXIT_OK


def _compact(args: argparse.Namespace) -> int:
    for code, folder in _loaded(args):
        result = compact(folder, code)
        print(
            f"{code}: {result.added:,} records in {result.segments} segment(s), "
            f"generation {result.generation}"
        )
    return EXIT_OK


def _bench(args: argparse.Namespace) -> int:
    from bench.suite import main as bench_main

    return bench_main(args.records, Path(args.work), args.quick, http=not args.no_http)


def _serve(args: argparse.Namespace) -> int:
    from screening.server import serve

    try:
        settings = from_arguments(args).check()
    except ValueError as error:
        raise UsageError(str(error)) from None
    return serve(settings)


def _keys_add(args: argparse.Namespace) -> int:
    token, entry = add_key(Path(args.keys), args.name, args.country, args.role)
    print(token)
    print(
        f"made {entry.role} key {entry.name!r} for {entry.country} (id {entry.id});"
        f" {args.keys} stores only its hash: keep the key now, it is not shown again",
        file=sys.stderr,
    )
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="screening", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    loader = commands.add_parser("load", help="an NCB batch upload (CSV or JSON Lines)")
    loader.add_argument("--data", required=True, help="data directory")
    loader.add_argument("--db", required=True, help="database code, e.g. SLTD")
    loader.add_argument("--owner", required=True, help="uploading NCB, ICAO code")
    loader.add_argument("--format", choices=FORMATS, help="default: from the file suffix")
    loader.add_argument("--report", help="rejected rows file (default: beside each upload)")
    loader.add_argument("files", nargs="+", metavar="FILE", help="upload files, '-' = stdin")
    loader.set_defaults(run=_load)

    generator = commands.add_parser("generate", help="write a realistic synthetic upload")
    generator.add_argument("--db", required=True)
    generator.add_argument("--records", required=True, type=int)
    generator.add_argument("--out", required=True, help=".csv or .jsonl")
    generator.add_argument("--seed", type=int, default=0)
    generator.set_defaults(run=_generate)

    checker = commands.add_parser(
        "check", help="verify every checksum of the data and print each segment's health"
    )
    checker.add_argument("--data", required=True)
    checker.add_argument("--db")
    checker.set_defaults(run=_check)

    compacter = commands.add_parser("compact", help="merge segments")
    compacter.add_argument("--data", required=True)
    compacter.add_argument("--db")
    compacter.set_defaults(run=_compact)

    bencher = commands.add_parser("bench", help="the benchmark suite, printing one table")
    bencher.add_argument("--records", type=int, default=10_000_000)
    bencher.add_argument("--work", default=".bench", help="where generated data is kept")
    bencher.add_argument("--quick", action="store_true", help="fewer repetitions")
    bencher.add_argument(
        "--no-http", action="store_true", help="the engine table only (no wrk, no servers)"
    )
    bencher.set_defaults(run=_bench)

    server = commands.add_parser("serve", help="serve a data directory over HTTP")
    add_arguments(server)
    server.set_defaults(run=_serve)

    keys = commands.add_parser("keys", help="API keys").add_subparsers(dest="action", required=True)
    adder = keys.add_parser("add", help="make an API key; prints it once, stores its hash")
    adder.add_argument("--keys", required=True, metavar="FILE", help="the key file (JSON)")
    adder.add_argument("--name", required=True, help="who holds it, e.g. gate-3")
    adder.add_argument("--country", required=True, metavar="CC", help="ICAO state code")
    adder.add_argument("--role", required=True, choices=ROLES)
    adder.set_defaults(run=_keys_add)
    return parser


ERRORS: Sequence[tuple[type[BaseException], int]] = (
    (UsageError, EXIT_USAGE),
    (LoadUsageError, EXIT_USAGE),
    (UnreadableFileError, EXIT_FAILED),
    (DataDirError, EXIT_FAILED),
    (IndexStoreError, EXIT_FAILED),
    (UnknownDatabaseError, EXIT_USAGE),
    (KeyRequestError, EXIT_USAGE),
    (KeyFileError, EXIT_FAILED),
    (ServeError, EXIT_FAILED),
    (DemoError, EXIT_FAILED),
    (OSError, EXIT_FAILED),
)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except tuple(kind for kind, _ in ERRORS) as error:
        code = next(code for kind, code in ERRORS if isinstance(error, kind))
        print(f"screening {args.command}: {error}", file=sys.stderr)
        return code
    except KeyboardInterrupt:
        print(f"screening {args.command}: interrupted, nothing was changed", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
