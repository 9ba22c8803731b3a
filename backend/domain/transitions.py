"""What a status change of a request gives back, or why it was refused (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from backend.domain.actions import Step
from backend.domain.errors import ProvisionerError
from backend.domain.requests import RequestRecord
from backend.domain.statuses import RequestStatus


@dataclass(frozen=True)
class Transition:
    record: RequestRecord
    # False when the request already had that status (a redelivery): nothing was written.
    changed: bool


def decision(status: RequestStatus) -> str:
    """An approver's decision, named by the status it moves the request to: ``accepted`` approves,
    ``rejected`` denies. The request records who and when as ``<decision>_by``, ``<decision>_at``."""
    return "approved" if status is RequestStatus.ACCEPTED else "denied"


class StatusConflict(ProvisionerError):
    """The request is not what the caller saw, or in a status the wanted one may not follow: the
    caller's view is stale, nothing was written. ``record`` is the request as it is now."""

    def __init__(self, record: RequestRecord, wanted: RequestStatus) -> None:
        where = f"{record.status.value}" + (
            f" at {record.step.value}" if record.step is not Step.CREATE else ""
        )
        super().__init__(f"request {record.request_id} is {where}; it cannot become {wanted.value}")
        self.record = record
        self.current = record.status
        self.wanted = wanted
