"""``make bench`` (``python -m bench``): measures what users feel and prints it beside the limits.

Sections (``--only``): ``ack`` (Slack ack path in-process), ``cold`` (fresh-process imports of the
Lambda handlers), ``github`` (GitHub API calls per request against the stub server), ``e2e`` (the
local stack over HTTP), ``artifacts`` (deployment package sizes). Offline: moto, local stub
servers and the local stack only. Nothing here asserts a time; ``BENCHMARKS.md`` records results.
"""
