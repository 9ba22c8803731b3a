"""Cold start: fresh interpreters importing (and initialising) each Lambda handler module.

Samples are interleaved round-robin across targets so drift (other load, CPU frequency) spreads
evenly, and one discarded round first makes sure every ``.pyc`` exists. ``import boto3`` is
measured the same way in the same run as the yardstick.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench._cold_child import TARGETS
from bench.report import Row, median

REPO_ROOT = Path(__file__).resolve().parents[1]
HANDLER_TARGETS = ("api", "slack", "worker")


def sample(target: str) -> dict[str, float]:
    completed = subprocess.run(
        [sys.executable, "-m", "bench._cold_child", target],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    result: dict[str, float] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def run(runs: int) -> tuple[list[Row], dict[str, Any]]:
    for target in TARGETS:  # warm-up round: compile bytecode, fill the page cache
        sample(target)
    samples: dict[str, list[dict[str, float]]] = {target: [] for target in TARGETS}
    for _ in range(runs):
        for target in TARGETS:
            samples[target].append(sample(target))
    boto3_ms = median([s["import_ms"] for s in samples["boto3"]])
    rows = [Row("cold start", "import boto3 (yardstick)", boto3_ms, "ms", "", f"median of {runs}")]
    details: dict[str, Any] = {"runs": runs, "boto3_import_ms": boto3_ms, "targets": {}}
    for target in HANDLER_TARGETS:
        module = TARGETS[target][0]
        import_ms = median([s["import_ms"] for s in samples[target]])
        total_ms = median([s["import_ms"] + s["init_ms"] for s in samples[target]])
        details["targets"][target] = {
            "module": module,
            "import_ms": import_ms,
            "import_plus_init_ms": total_ms,
            "ratio_to_boto3": import_ms / boto3_ms,
            "samples": samples[target],
        }
        rows.append(
            Row(
                "cold start",
                f"import {module}",
                import_ms,
                "ms",
                f"{import_ms / boto3_ms:.1f}x boto3",
                f"median of {runs}",
            )
        )
        rows.append(
            Row(
                "cold start", f"  + init ({target})", total_ms, "ms", "", "app, clients, services; no network"
            )
        )
    return rows, details
