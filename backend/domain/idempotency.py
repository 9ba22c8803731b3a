"""Idempotency-Keys: a key names one request and what was asked, for a day (pure)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from backend.domain.errors import ProvisionerError

# Like the keys of most HTTP APIs: a retry within a day replays, a later one is a new request.
IDEMPOTENCY_TTL = timedelta(hours=24)


@dataclass(frozen=True)
class IdempotencyEntry:
    key: str
    request_id: str
    fingerprint: str
    sns_message_id: str | None = None


class IdempotencyKeyInUse(ProvisionerError):
    """Another request already holds this Idempotency-Key (the caller decides: replay or conflict)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"idempotency key {key!r} is already in use")
        self.key = key


def fingerprint(payload: Mapping[str, Any]) -> str:
    """A stable hash of ``payload``: same content -> same hash, whatever the key order."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
