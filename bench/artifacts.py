"""Deployment artifact size per function, measured by ``local.build`` (``make build``).

Without ``--skip-build`` this stages the runtime code and runs ``sam build`` (cached) first, then
compiles the bytecode, as ``make build`` does; with it, or when the SAM CLI is not installed, the
sizes are those of the last build found in ``.aws-sam/build`` and the table says so.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from bench.report import Row
from local import build

MAX_MB = build.MAX_UNZIPPED_BYTES / 1024 / 1024


def _sam_available() -> bool:
    try:
        build.sam_executable()
    except SystemExit:
        return False
    return True


def run(*, skip_build: bool) -> tuple[list[Row], dict[str, Any]]:
    build_dir = build.REPO_ROOT / build.BUILD_DIR
    details: dict[str, Any] = {"built_now": False}
    if not skip_build and _sam_available():
        started = time.perf_counter()
        build.stage()
        build.build_functions()
        details |= {"built_now": True, "build_seconds": time.perf_counter() - started}
    if not (build_dir / "template.yaml").exists():
        reason = "sam build skipped" if skip_build else "SAM CLI not installed (make build)"
        return [
            Row("artifacts", "per function", "n/a", "", "", f"no build in {build.BUILD_DIR}; {reason}")
        ], details
    built_at = datetime.fromtimestamp(os.path.getmtime(build_dir / "template.yaml"), UTC)
    source = "built now" if details["built_now"] else f"last build {built_at:%Y-%m-%d %H:%M} UTC"
    details["built_at"] = built_at.isoformat(timespec="seconds")
    rows: list[Row] = []
    sizes = {}
    for function, directory in sorted(build.built_functions(build_dir).items()):
        size = build.measure(function, directory)
        sizes[function] = asdict(size)
        rows.append(
            Row(
                "artifacts",
                f"{function} zipped / unzipped",
                f"{size.zipped_bytes / 1024 / 1024:.1f} / {size.unzipped_bytes / 1024 / 1024:.1f} MB",
                "",
                f"unzipped < {MAX_MB:.0f} MB",
                f"{size.files} files; {source}",
            )
        )
    details["sizes"] = sizes
    return rows, details
