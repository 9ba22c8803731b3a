"""Pure domain: the request model, naming rules, environment policy, statuses and errors."""

from backend.domain.access import check_prod_access, may_see
from backend.domain.actions import Action, DatabaseEffect, FileChange, Step
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
from backend.domain.kinds import Engine, EngineFamily, Environment, Source
from backend.domain.policy import ENGINE_DEFAULTS, ENVIRONMENT_POLICY, Sizing, engine_defaults, policy_for
from backend.domain.requests import (
    DatabaseRecord,
    DecommissionRequest,
    ProvisionRequest,
    RequestFields,
    RequestRecord,
    ResizeRequest,
    parse_as,
    parse_request,
)
from backend.domain.statuses import ALLOWED_TRANSITIONS, RequestStatus, can_transition

__all__ = [
    "ALLOWED_TRANSITIONS",
    "ENGINE_DEFAULTS",
    "ENVIRONMENT_POLICY",
    "Action",
    "AlreadyRequested",
    "DatabaseAlreadyExists",
    "DatabaseEffect",
    "DatabaseRecord",
    "DecommissionRequest",
    "Engine",
    "EngineFamily",
    "Environment",
    "FieldError",
    "FileChange",
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
    "ResizeRequest",
    "RetryableError",
    "Sizing",
    "Source",
    "Step",
    "ValidationFailed",
    "can_transition",
    "check_prod_access",
    "engine_defaults",
    "may_see",
    "parse_as",
    "parse_request",
    "policy_for",
]
