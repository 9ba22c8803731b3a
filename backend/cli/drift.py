"""``python -m backend.cli.drift``: the nightly drift job's report, after .circleci/scripts/drift.sh.

    python -m backend.cli.drift --environment dev --plan terraform/envs/dev/drift.json

Run in the checkout of main: the plan's JSON (``terraform show -json``) names what Terraform would
change back; each drifted database and its attributes are printed and posted to Slack
(``DRIFT_CHANNEL``; without it only printed).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from backend.cli.record_applied import database_names
from backend.domain.drift import Drift, find_drift
from backend.domain.notices import Audience, Happening, Notice


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m backend.cli.drift",
        description="Report the databases a terraform plan of main would change (drift).",
    )
    parser.add_argument("--environment", required=True, help="dev or prod")
    parser.add_argument("--plan", required=True, type=Path, help="terraform show -json of the plan")
    parser.add_argument("--root", default=".", type=Path, help="the checkout of main (default .)")
    return parser


def drift_of(plan_file: Path, environment: str, root: Path) -> list[Drift]:
    files = [
        str(path.relative_to(root)) for path in (root / "terraform" / "envs" / environment).glob("rds_*.tf")
    ]
    return find_drift(json.loads(plan_file.read_text(encoding="utf-8")), database_names(files, environment))


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    drifts = drift_of(args.plan, args.environment, args.root)
    for drift in drifts:
        print(f"{args.environment}/{drift.database_name or '(shared)'}: {', '.join(drift.attributes)}")
    if not drifts:
        print(f"No drift in {args.environment}.")
        return 0
    from backend.container import get_container

    container = get_container()
    channel = container.settings.drift_channel or container.api_channel
    if channel:
        container.notices.send(
            Notice(
                Happening.DRIFTED,
                to=Audience.channel(channel),
                environment=args.environment,
                drifts=tuple(drifts),
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
