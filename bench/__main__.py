"""``python -m bench [--quick] [--requests N] [--burst-requests N] [--skip-build] [--only SECTION ...]``;
see bench/__init__.py."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.report import Row, format_table, machine_info, results_document

SECTIONS = ("ack", "cold", "github", "e2e", "burst", "artifacts")
RESULTS = Path(__file__).resolve().parent / "results.json"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="small samples: a smoke run in well under a minute"
    )
    parser.add_argument(
        "--requests", type=int, default=None, help="end-to-end requests (default 200; 30 with --quick)"
    )
    parser.add_argument(
        "--burst-requests",
        type=int,
        default=None,
        help="requests of the burst against GitHub's write ceiling (default 60; 20 with --quick)",
    )
    parser.add_argument(
        "--burst-writes-per-minute",
        type=int,
        default=None,
        help="the workers' GITHUB_WRITES_PER_MINUTE in the burst (default: the stub's budget, 180); "
        "far above it, pacing is off and only GitHub's wait answers hold the burst back",
    )
    parser.add_argument(
        "--samples", type=int, default=None, help="ack-path samples per kind (default 200; 30 with --quick)"
    )
    parser.add_argument(
        "--cold-runs", type=int, default=None, help="fresh processes per module (default 7; 3 with --quick)"
    )
    parser.add_argument(
        "--skip-build", action="store_true", help="do not run sam build; report the last build's sizes"
    )
    parser.add_argument(
        "--only", action="append", choices=SECTIONS, help="run only this section (repeatable)"
    )
    parser.add_argument(
        "--output", type=Path, default=RESULTS, help="where to write the JSON results (default %(default)s)"
    )
    args = parser.parse_args(argv)
    args.requests = args.requests or (30 if args.quick else 200)
    args.burst_requests = args.burst_requests or (20 if args.quick else 60)
    args.samples = args.samples or (30 if args.quick else 200)
    args.cold_runs = args.cold_runs or (3 if args.quick else 7)
    return args


@contextmanager
def stdout_to_devnull() -> Iterator[None]:
    """Send fd 1 to /dev/null while measuring: the handlers' JSON logs and EMF metrics are still
    produced and written (as in Lambda), just not onto the table."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def sections(args: argparse.Namespace) -> dict[str, Callable[[], tuple[list[Row], dict[str, Any]]]]:
    from bench import ack, artifacts, burst, cold, e2e, github_calls

    return {
        "ack": lambda: ack.run(args.samples),
        "cold": lambda: cold.run(args.cold_runs),
        "github": github_calls.run,
        "e2e": lambda: e2e.run(args.requests),
        "burst": lambda: burst.run(args.burst_requests, writes_per_minute=args.burst_writes_per_minute),
        "artifacts": lambda: artifacts.run(skip_build=args.skip_build),
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    chosen = args.only or list(SECTIONS)
    rows: list[Row] = []
    details: dict[str, Any] = {}
    runners = sections(args)
    for name in SECTIONS:
        if name not in chosen:
            continue
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        with stdout_to_devnull():
            section_rows, section_details = runners[name]()
        section_details["seconds"] = time.perf_counter() - started
        rows += section_rows
        details[name] = section_details
    machine = machine_info()
    options = {
        "quick": args.quick,
        "requests": args.requests,
        "burst_requests": args.burst_requests,
        "burst_writes_per_minute": args.burst_writes_per_minute,
        "samples": args.samples,
        "cold_runs": args.cold_runs,
        "skip_build": args.skip_build,
        "sections": chosen,
    }
    document = results_document(machine=machine, options=options, rows=rows, details=details)
    args.output.write_text(json.dumps(document, indent=2) + "\n")
    print(f"{machine['cpu_model']}, {machine['cores']} cores, Python {machine['python']}, {machine['date']}")
    print(format_table(rows))
    print(f"\nresults: {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
