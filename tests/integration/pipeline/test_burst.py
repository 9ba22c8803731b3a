"""A burst of requests against a GitHub that enforces its write budget drains instead of failing.

Sixty requests at once through the whole pipeline (API -> SNS -> SQS on a moto server -> four
concurrent workers -> the stub GitHub with its write budget enforced, ``tests.support.burst``).
The workers are told GitHub allows twice what it does, so GitHub answers "wait" (403, secondary
rate limit, ``Retry-After``) again and again: those answers must neither fail a request nor
open a second pull request. (How close to the ceiling a burst drains is ``make bench``'s.)
"""

from __future__ import annotations

from tests.support.burst import run_burst

REQUESTS = 60


def test_sixty_requests_at_once_all_open_one_pr_each_though_github_says_wait():
    result = run_burst(
        REQUESTS,
        limit_writes=20,
        per_seconds=1.0,
        writes_per_minute=2 * 20 * 60,
        workers=4,
        timeout=300,
    )

    assert result.secondary_limit_answers > 0  # GitHub did say "wait"
    assert result.statuses == {"pr_opened": REQUESTS}
    assert (result.pull_requests, result.duplicates, result.without_pull_request) == (REQUESTS, 0, 0)
    assert result.dead_letters == 0
    assert [line for line in result.poller_log if "failed" in line] == []
