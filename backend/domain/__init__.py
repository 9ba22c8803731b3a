"""Pure domain: the request model, naming rules, environment policy, statuses and errors."""

from backend.domain.access import check_prod_access
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
from backend.domain.models import (
    Engine,
    Environment,
    ProvisionRequest,
    RequestRecord,
    RequestStatus,
    Source,
    can_transition,
    parse_request,
)
from backend.domain.policy import ENGINE_DEFAULTS, ENVIRONMENT_POLICY, engine_defaults, policy_for

__all__ = [
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
    "RequestRecord",
    "RequestStatus",
    "RetryableError",
    "Source",
    "ValidationFailed",
    "can_transition",
    "check_prod_access",
    "engine_defaults",
    "parse_request",
    "policy_for",
]
