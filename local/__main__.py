"""``python -m local`` (``make run``): the whole system on this machine, in the foreground.

Ctrl-C (or SIGTERM) stops it without losing an accepted request: HTTP stops first, the worker
drains the queue, and what could not be processed in time is saved to ``<state>/aws-state.json``
and queued again by the next start.
"""

from __future__ import annotations

import argparse
import errno
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from backend.settings import Settings


def parse_args(argv: list[str] | None, settings: Settings) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m local", description="Run rds-provisioner locally (no cloud account needed)."
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface of the gateway (default %(default)s)")
    parser.add_argument(
        "--port", type=int, default=settings.local_port, help="gateway port (default: $PORT or 3000)"
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path(".local"),
        help="where the git repository, Slack calls and saved AWS state live (default %(default)s)",
    )
    parser.add_argument(
        "--seed-dir", type=Path, default=None, help="Terraform tree seeding branch main (default ./terraform)"
    )
    parser.add_argument(
        "--visibility-timeout",
        type=int,
        default=5,
        help="SQS visibility timeout in seconds, short locally so retries come quickly (default %(default)s)",
    )
    parser.add_argument(
        "--drain-seconds",
        type=float,
        default=20.0,
        help="on shutdown, how long the worker may keep draining the queue (default %(default)s)",
    )
    parser.add_argument(
        "--no-persist", action="store_true", help="do not save/restore requests and queued messages"
    )
    return parser.parse_args(argv)


def banner(stack: object) -> str:
    from local.stack import LocalStack

    assert isinstance(stack, LocalStack)
    settings = stack.settings
    assert settings is not None
    url = stack.url
    key = settings.api_key or ""
    lines = [
        "",
        "rds-provisioner is running locally",
        f"  HTTP API        {url}/provision-rds   (X-Api-Key: {key})",
        f"  Slack events    {url}/slack/events",
        f"  Pull requests   {url}/_local/prs",
        f"  OpenAPI         {url}/openapi.json",
        f"  AWS (moto)      {stack.moto_url}",
    ]
    if stack.socket_mode:
        lines.append("  Slack           connected to your workspace over Socket Mode")
    else:
        lines.append(f"  Slack (local)   {url}/_local/slack   (pick a user, type /provision-rds)")
        lines.append(f"  Slack stand-in  {stack.slack_url}   calls -> {stack.options.slack_calls_file}")
    if settings.gitops_backend == "local":
        lines.append(f"  Git repository  {stack.options.gitops_dir}")
        lines.append(f"  Local CI        {stack.ci_note}")
    else:
        lines.append(f"  GitHub          {settings.github_repository} via {settings.github_api_url}")
    if stack.restored_items or stack.restored_messages:
        lines.append(
            f"  Restored        {stack.restored_items} table item(s) and "
            f"{stack.restored_messages} queued message(s) from the last run"
        )
    lines += [
        "",
        "Try it, in another terminal (. .venv/bin/activate puts rdsctl on PATH):",
        f"  curl -s -X POST {url}/provision-rds -H 'X-Api-Key: {key}' -H 'Content-Type: application/json' \\",
        '       -d \'{"database_name": "orders", "database_engine": "postgres", "environment": "dev"}\'',
        '  rdsctl slack "/provision-rds billing mysql dev"',
        *([] if stack.socket_mode else [f"  open {url}/_local/slack"]),
        "  rdsctl list",
        f"  open {url}/_local/prs",
        f"  git -C {stack.options.gitops_dir} log --oneline --all",
        "",
        "Press Ctrl-C to stop (accepted requests are finished first).",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from local.poller import StopDraining
    from local.stack import LocalStack, StackOptions

    base = Settings.from_env()
    args = parse_args(argv, base)
    options = StackOptions(
        state_dir=args.state_dir,
        host=args.host,
        port=args.port,
        seed_dir=args.seed_dir,
        visibility_timeout=args.visibility_timeout,
        drain_seconds=args.drain_seconds,
        persist_state=not args.no_persist,
    )
    stop_requested = threading.Event()
    signals_seen = 0

    stack = LocalStack(base, options)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        nonlocal signals_seen
        signals_seen += 1
        if signals_seen == 1:
            stop_requested.set()
            return
        draining = stack.poller is not None and stack.poller.draining
        if signals_seen == 2 and draining:
            print("\nnot waiting for the queue; saving what is left (Ctrl-C again to quit)", flush=True)
            raise StopDraining
        if signals_seen == 2:
            print("\nstill stopping (Ctrl-C again to quit at once)", flush=True)
            return
        print("\nstopping now, without saving", flush=True)
        raise SystemExit(130)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    try:
        stack.start()
    except Exception as exc:
        print(f"could not start the local stack: {exc}", file=sys.stderr, flush=True)
        if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
            print(f"port {options.port} is taken; try PORT=3001 make run", file=sys.stderr, flush=True)
        return 1
    print(banner(stack), flush=True)
    print(f"ready: {stack.url}", flush=True)

    while not stop_requested.wait(0.5):
        pass
    print("\nstopping: no new requests; finishing the accepted ones...", flush=True)
    report = stack.stop()
    drain = report.drain
    if drain is not None:
        if drain.drained:
            print(f"queue drained in {drain.seconds:.1f} s", flush=True)
        else:
            print(
                f"queue not empty after {drain.seconds:.1f} s: "
                f"{drain.visible + drain.in_flight} message(s) left",
                flush=True,
            )
    if options.persist_state:
        print(
            f"saved {report.saved_items} table item(s) and {report.saved_messages} queued message(s) "
            f"to {options.state_file}",
            flush=True,
        )
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
