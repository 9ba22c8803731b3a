"""Pure domain: the request model, naming rules, environment policy, statuses and errors."""

from backend.domain.access import check_prod_access, may_see
from backend.domain.errors import (
    AlreadyRequested,
    DatabaseAlreadyExists,
    FieldError,
    IdempotencyConflict,
    NotAllowed,
    NotFound,
    PermanentError,
    ProvisionerError,
    QueueUnavailable,
    RetryableError,
    ValidationFailed,
)
from backend.domain.policy import ENGINE_DEFAULTS, ENVIRONMENT_POLICY, engine_defaults, policy_for
from backend.domain.requests import (
    Engine,
    Environment,
    ProvisionRequest,
    RequestFields,
    RequestRecord,
    Source,
    parse_request,
)
from backend.domain.statuses import ALLOWED_TRANSITIONS, RequestStatus, can_transition

__all__ = [
    "ALLOWED_TRANSITIONS",
    "ENGINE_DEFAULTS",
    "ENVIRONMENT_POLICY",
    "AlreadyRequested",
    "DatabaseAlreadyExists",
    "Engine",
    "Environment",
    "FieldError",
    "IdempotencyConflict",
    "NotAllowed",
    "NotFound",
    "PermanentError",
    "ProvisionRequest",
    "ProvisionerError",
    "QueueUnavailable",
    "RequestFields",
    "RequestRecord",
    "RequestStatus",
    "RetryableError",
    "Source",
    "ValidationFailed",
    "can_transition",
    "check_prod_access",
    "engine_defaults",
    "may_see",
    "parse_request",
    "policy_for",
]
