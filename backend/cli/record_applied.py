"""``python -m backend.cli.record_applied``: CircleCI's record-applied job, after a successful apply.

    python -m backend.cli.record_applied --environment dev --files terraform/envs/dev/rds_*.tf

Run in the applied checkout. Each ``terraform/envs/<environment>/rds_<name>.tf`` file given, and
every database of the environment with a change in flight (a decommission's file is gone from
main), is checked against what main holds: a request whose change is there becomes ``applied``
(through ``merged``, silently, if the merge event never came) and its requester hears it, or
moves on to its next step. Safe to repeat: requests already ``applied`` are unchanged, files no
request made are reported ``unknown``.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath

from backend.domain import naming
from backend.domain.naming import database_name_problem
from backend.services.lifecycle import LifecycleService

_RDS_FILE = re.compile(r"rds_(?P<name>.+)\.tf")


def database_names(paths: Sequence[str], environment: str) -> list[str]:
    """The database names of the ``terraform/envs/<environment>/rds_<name>.tf`` files among ``paths``.

    Other files (versions.tf, another environment's files, names that are not valid database
    names) are left out; duplicates count once.
    """
    names: list[str] = []
    for raw in paths:
        path = PurePosixPath(raw.strip())
        match = _RDS_FILE.fullmatch(path.name)
        if match is None or path.parent.name != environment or path.parent.parent.name != "envs":
            continue
        name = match.group("name")
        if database_name_problem(name) is None and name not in names:
            names.append(name)
    return names


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m backend.cli.record_applied",
        description="Record that terraform apply created (or changed) the databases of these files.",
    )
    parser.add_argument("--environment", required=True, help="dev or prod")
    parser.add_argument(
        "--files",
        nargs="*",
        default=[],
        metavar="PATH",
        help="files on the applied branch; only terraform/envs/<environment>/rds_<name>.tf count",
    )
    parser.add_argument(
        "--root", default=".", type=Path, help="the applied checkout the files are read from (default .)"
    )
    return parser


def _reader(root: Path) -> Callable[[str], str | None]:
    def read(path: str) -> str | None:
        file = root / path
        return file.read_text(encoding="utf-8") if file.is_file() else None

    return read


def record_applied(
    service: LifecycleService,
    environment: str,
    paths: Sequence[str],
    read_main: Callable[[str], str | None],
) -> list[str]:
    """What CircleCI's record-applied job does after a successful apply: one line per database.

    ``paths`` are files on the applied branch (those that are not ``rds_<name>.tf`` files of
    ``environment`` are left out); ``read_main`` gives a file's content on it, None if absent.
    """
    names = sorted(set(database_names(paths, environment)) | set(service.databases_changing(environment)))
    if not names:
        return [f"no rds_*.tf files of {environment} among the files; nothing to record"]
    lines = []
    for name in names:
        result = service.applied(environment, name, read_main(naming.terraform_file_path(environment, name)))
        request = f" (request {result.record.request_id})" if result.record else ""
        suffix = f": {result.detail}" if result.detail else ""
        lines.append(f"{environment}/{name}: {result.outcome.value}{request}{suffix}")
    return lines


def main(argv: Sequence[str] | None = None, *, service: LifecycleService | None = None) -> int:
    args = build_parser().parse_args(argv)
    if service is None:
        from backend.container import get_container

        service = get_container().lifecycle
    for line in record_applied(service, args.environment, args.files, _reader(args.root)):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
