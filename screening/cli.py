"""The `screening` command: each subcommand parses, calls one library function, and the
project's exceptions map to the contract's exit codes in one place (API.md):
0 success; 1 the work failed and nothing was changed; 2 bad usage; 3 some rows rejected.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from indexes import IndexStoreError, compact
from indexes.health import check_database
from loaders.catalog import DATABASES, UnknownDatabaseError, database
from loaders.load import DataDirError, LoadUsageError, load
from loaders.readers import FORMATS, UnreadableFileError, Upload
from screening.demo import DemoError
from screening.keys import ROLES, KeyFileError, KeyRequestError, add_key
from screening.priority import yield_to_lookups
from screening.settings import ServeError, add_arguments, from_arguments

if TYPE_CHECKING:
    from screening.audit import TrailFilter

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_REJECTS = 0, 1, 2, 3


class UsageError(Exception):
    pass


def _load(args: argparse.Namespace) -> int:
    yield_to_lookups()
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


def _catalog(args: argparse.Namespace) -> int:
    from loaders.catalog_docs import markdown_table

    print(markdown_table())
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
    yield_to_lookups()
    for code, folder in _loaded(args):
        result = compact(folder, code)
        print(
            f"{code}: {result.added:,} records in {result.segments} segment(s), "
            f"generation {result.generation}"
        )
    return EXIT_OK


def _bench(args: argparse.Namespace) -> int:
    from bench.soak import SoakOptions, run_soak
    from bench.suite import main as bench_main

    status = EXIT_OK
    if args.exact_all:
        from bench.exact_all import EXACT_ALL_RECORDS
        from bench.exact_all import main as exact_all_main

        records = min(args.records, EXACT_ALL_RECORDS)
        status = exact_all_main(records, Path(args.work), args.quick)
        if not args.no_http and status == EXIT_OK:
            from bench.exact_http import main as exact_http_main

            status = exact_http_main(records, Path(args.work), args.quick)
        return status
    if args.names or (not args.soak and args.persons > 0):
        from bench.names import main as names_main

        status = names_main(args.persons, Path(args.work))
        if args.names:
            return status
    if not args.soak:
        engine = bench_main(args.records, Path(args.work), args.quick, http=not args.no_http)
        status = max(status, engine)
    if args.soak_seconds <= 0 or (args.no_http and not args.soak):
        return status
    return max(status, run_soak(Path(args.work), SoakOptions(seconds=args.soak_seconds)))


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


FOLLOW_INTERVAL = 0.5
"""Seconds between two reads of `screening audit --follow`."""


def _audit(args: argparse.Namespace) -> int:
    from screening.audit import TrailFilter, since_stamp

    data = Path(args.data)
    if not data.is_dir():
        raise DataDirError(f"{data}: no such data directory")
    try:
        since = since_stamp(args.since) if args.since else None
    except ValueError as error:
        raise UsageError(str(error)) from None
    keep = TrailFilter(since, args.key, args.hits)
    if args.follow:
        signal.signal(signal.SIGTERM, _interrupt)
    try:
        _print_trail(data, keep, args.follow)
    except BrokenPipeError:  # `screening audit ... | head`: the reader has had enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except KeyboardInterrupt:  # the end of a --follow
        pass
    return EXIT_OK


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM ends a `--follow` as Ctrl-C does (exit 0, what was read printed): a
    service manager stops it so, and so does a script that started it in the background,
    where the shell has SIGINT ignored."""
    raise KeyboardInterrupt


def _print_trail(data: Path, keep: TrailFilter, follow: bool) -> None:
    """Print the trail's lines; with `follow`, go on printing new ones as they come, like
    `tail -f` of every worker's stream at once, merged in time order."""
    from screening.audit import audit_directory, read_horizon, read_trail
    from screening.journal import Position, line_file

    out = sys.stdout.buffer
    cursor: dict[str, Position] = {}
    while True:
        before = read_horizon() if follow else None  # in time order across the workers
        for line, damaged in read_trail(data, keep, cursor, before):
            cursor[line.stream] = line.end
            if damaged:
                print(
                    f"screening audit: {line_file(audit_directory(data), line)}, byte"
                    f" {line.at.offset:,}: a damaged line (a write cut short by a crash), skipped",
                    file=sys.stderr,
                )
            else:
                out.write(line.text + b"\n")
        out.flush()
        if not follow:
            return
        time.sleep(FOLLOW_INTERVAL)


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

    cataloger = commands.add_parser("catalog", help="the databases, as a Markdown table")
    cataloger.set_defaults(run=_catalog)

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
    bencher.add_argument(
        "--soak", action="store_true", help="the soak table only (bench/README.md)"
    )
    bencher.add_argument(
        "--persons", type=int, default=1_000_000,
        help="NOMINAL size for the name-matching table (UN list + generated); 0: skip it",
    )  # fmt: skip
    bencher.add_argument(
        "--names", action="store_true", help="the name-matching table only (bench/names.py)"
    )
    bencher.add_argument(
        "--exact-all", action="store_true",
        help="the every-exact-database tables only (bench/exact_all.py, then over HTTP "
             "bench/exact_http.py unless --no-http), at most 1M records each",
    )  # fmt: skip
    bencher.add_argument(
        "--soak-seconds", type=int, default=180, help="the soak's length; 0: no soak"
    )
    bencher.set_defaults(run=_bench)

    server = commands.add_parser("serve", help="serve a data directory over HTTP")
    add_arguments(server)
    server.set_defaults(run=_serve)

    auditor = commands.add_parser(
        "audit", help="print the audit trail as JSON lines, oldest first (SERVING.md: Audit)"
    )
    auditor.add_argument("--data", required=True, help="data directory")
    auditor.add_argument(
        "--since", metavar="ISO", help="only checks at or after this date or time (UTC if no zone)"
    )
    auditor.add_argument(
        "--key", metavar="NAME", help="only checks made with this key (name or id)"
    )
    auditor.add_argument("--hits", action="store_true", help="only checks that hit")
    auditor.add_argument(
        "--follow", action="store_true", help="go on printing checks as they come (Ctrl-C ends)"
    )
    auditor.set_defaults(run=_audit)

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
