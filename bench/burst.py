"""A burst against GitHub's write ceiling: N requests at once, the stub GitHub enforcing a budget.

The whole pipeline (``tests.support.burst``): the API handler, SNS -> SQS on a moto server,
``WORKERS`` concurrent workers (the local event source mapping feeding the real worker handler),
the real ``GitHubPublisher`` against the stub GitHub with its write budget enforced (403
secondary rate limit with ``Retry-After`` beyond it). GitHub allows about 80 writes a minute;
scaled here to 9 writes per 3 s (180 a minute), and the workers are configured with that budget
(``GITHUB_WRITES_PER_MINUTE=180``).

Ideal drain time: the writes the burst needs (3 per new request: branch, file, PR) at the
ceiling. Drain time: from the first worker starting to the last request leaving ``accepted``
(the records' own timestamps).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from bench.report import Row

WINDOW_WRITES = 9
WINDOW_SECONDS = 3.0
WORKERS = 4
GITHUB_BUDGET_PER_MINUTE = round(WINDOW_WRITES * 60 / WINDOW_SECONDS)
DRAIN_LIMIT = 1.5


def run(requests: int, *, writes_per_minute: int | None = None) -> tuple[list[Row], dict[str, Any]]:
    """``writes_per_minute``: the workers' budget; default the stub's (far above it: no pacing)."""
    # The moto server is a real endpoint: botocore signs even for it, with fake credentials.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")  # noqa: TID251
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")  # noqa: TID251
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per moto request otherwise
    from tests.support.burst import run_burst

    result = run_burst(
        requests,
        limit_writes=WINDOW_WRITES,
        per_seconds=WINDOW_SECONDS,
        writes_per_minute=writes_per_minute or GITHUB_BUDGET_PER_MINUTE,
        workers=WORKERS,
    )
    budget = f"GitHub {WINDOW_WRITES} writes / {WINDOW_SECONDS:.0f} s; {WORKERS} workers"
    if writes_per_minute and writes_per_minute != GITHUB_BUDGET_PER_MINUTE:
        budget += f" pacing at {writes_per_minute}/min"
    ratio = result.drain_seconds / result.ideal_seconds
    rows = [
        Row("burst", "requests", result.requests, "", "", budget),
        Row("burst", "PRs opened", result.pull_requests, "", f"= {result.requests}"),
        Row("burst", "failed", result.failed, "", "0"),
        Row("burst", "duplicate PRs", result.duplicates, "", "0"),
        Row(
            "burst",
            "secondary-limit answers",
            result.secondary_limit_answers,
            "",
            "",
            "403 + Retry-After the workers provoked",
        ),
        Row("burst", "writes made", result.writes, "", f"min {result.writes_needed}"),
        Row("burst", "ideal drain", result.ideal_seconds, "s", "", "writes needed / budget"),
        Row("burst", "drain time", result.drain_seconds, "s", f"<= {DRAIN_LIMIT:g}x ideal"),
        Row("burst", "drain / ideal", ratio, "x", f"<= {DRAIN_LIMIT}"),
    ]
    details = {
        "requests": result.requests,
        "statuses": result.statuses,
        "pull_requests": result.pull_requests,
        "duplicates": result.duplicates,
        "without_pull_request": result.without_pull_request,
        "dead_letters": result.dead_letters,
        "secondary_limit_answers": result.secondary_limit_answers,
        "writes": result.writes,
        "writes_needed": result.writes_needed,
        "budget": {
            "writes": WINDOW_WRITES,
            "per_seconds": WINDOW_SECONDS,
            "workers": WORKERS,
            "writes_per_minute": writes_per_minute or GITHUB_BUDGET_PER_MINUTE,
        },
        "ideal_seconds": result.ideal_seconds,
        "drain_seconds": result.drain_seconds,
        "poller_log": result.poller_log[:50],
    }
    return rows, details
