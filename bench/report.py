"""The harness's pure parts: percentiles, result rows, the table and the results.json document."""

from __future__ import annotations

import math
import platform
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1


def percentile(values: Iterable[float], pct: float) -> float:
    """The ``pct``-th percentile with linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    if not 0 <= pct <= 100:
        raise ValueError(f"percentile must be within 0..100, got {pct}")
    rank = (len(ordered) - 1) * pct / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Summary:
    n: int
    p50: float
    p95: float
    p99: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        return cls(
            n=len(values),
            p50=percentile(values, 50),
            p95=percentile(values, 95),
            p99=percentile(values, 99),
            max=max(values),
        )


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


@dataclass(frozen=True)
class Row:
    """One line of the table: a figure, its unit, and the limit it is held against."""

    section: str
    metric: str
    value: float | int | str
    unit: str = ""
    limit: str = ""
    note: str = ""

    def shown_value(self) -> str:
        if isinstance(self.value, str):
            return self.value
        if isinstance(self.value, int):
            text = str(self.value)
        elif abs(self.value) >= 100:
            text = f"{self.value:.0f}"
        elif abs(self.value) >= 10:
            text = f"{self.value:.1f}"
        else:
            text = f"{self.value:.2f}"
        return f"{text} {self.unit}".strip()


HEADERS = ("section", "metric", "value", "limit", "note")


def format_table(rows: Sequence[Row]) -> str:
    """A plain-text table with aligned columns (value right-aligned), one line per row."""
    cells = [HEADERS, *[(r.section, r.metric, r.shown_value(), r.limit, r.note) for r in rows]]
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADERS))]

    def line(values: Sequence[str]) -> str:
        parts = [
            value.rjust(widths[i]) if i == 2 else value.ljust(widths[i]) for i, value in enumerate(values)
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(cells[0]), rule, *(line(values) for values in cells[1:])])


def cpu_model(cpuinfo: str) -> str:
    """The ``model name`` of /proc/cpuinfo (first CPU), or ``unknown``."""
    for text_line in cpuinfo.splitlines():
        key, _, value = text_line.partition(":")
        if key.strip() == "model name" and value.strip():
            return value.strip()
    return "unknown"


def machine_info(
    *, cpuinfo_path: Path = Path("/proc/cpuinfo"), now: datetime | None = None
) -> dict[str, Any]:
    import os

    try:
        cpuinfo = cpuinfo_path.read_text(errors="replace")
    except OSError:
        cpuinfo = ""
    return {
        "cpu_model": cpu_model(cpuinfo) if cpuinfo else platform.processor() or "unknown",
        "cores": os.cpu_count() or 0,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "date": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
    }


def results_document(
    *,
    machine: Mapping[str, Any],
    options: Mapping[str, Any],
    rows: Sequence[Row],
    details: Mapping[str, Any],
) -> dict[str, Any]:
    """What ``bench/results.json`` holds: the table rows plus each section's raw details."""
    return {
        "schema_version": SCHEMA_VERSION,
        "machine": dict(machine),
        "options": dict(options),
        "rows": [asdict(row) for row in rows],
        "details": dict(details),
    }
