"""``make bench`` (``python -m bench``): measures what users feel and prints it beside the limits.

Sections (``--only``): ``ack`` (Slack ack path in-process), ``cold`` (fresh-process imports of the
Lambda handlers), ``github`` (GitHub API calls per request against the stub server), ``e2e`` (the
local stack over HTTP), ``burst`` (N requests at once against a stub GitHub enforcing a scaled
write budget: PRs, failures, duplicates, limit answers, drain time against the ideal),
``artifacts`` (deployment package sizes). Offline: moto, local stub servers and the local stack
only. Nothing here asserts a time; ``BENCHMARKS.md`` records results.
"""
