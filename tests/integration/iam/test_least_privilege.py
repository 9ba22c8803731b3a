"""Each function and record-applied holds exactly what its code calls, proven by running it.

The story (``story.py``) runs every path of the six functions and of CircleCI's record-applied job
against moto with IAM enforcement on, each as a role holding exactly the policies the translated
SAM template or ``bootstrap/ci-roles.yaml`` gives it. A call its policy does not allow fails here;
so does a grant no path used, unless ``UNUSED`` says why it must stay.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pytest

from tests.integration.iam.deployment import FUNCTIONS, SAM_PARAMETERS
from tests.integration.iam.enforcement import Enforcer
from tests.integration.iam.policy import (
    Stack,
    describe,
    grants_of,
    parameter_defaults,
    translated_sam_template,
)
from tests.integration.iam.story import CI_ROLES, told_story

ROLES = tuple(f"{function}Role" for function in FUNCTIONS) + CI_ROLES

# Grants no path of the code uses that must stay, with the reason: "<action> on <resource>".
UNUSED: Mapping[str, Mapping[str, str]] = {}


@pytest.fixture(scope="module")
def enforcer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Enforcer]:
    with told_story(tmp_path_factory.mktemp("iam")) as told:
        yield told


@pytest.mark.parametrize("role", ROLES)
def test_every_call_is_allowed(enforcer: Enforcer, role: str):
    assert enforcer.calls[role], f"{role} made no AWS call: the story does not run it"
    assert enforcer.denied[role] == [], f"{role} was refused"


@pytest.mark.parametrize("role", ROLES)
def test_every_grant_is_used(enforcer: Enforcer, role: str):
    held = enforcer.held[role]
    unused = set(describe(grants_of(held.documents))) - set(describe(enforcer.used[role]))
    allowed = {grant for grant in unused if any(grant.startswith(prefix) for prefix in UNUSED.get(role, {}))}
    assert sorted(unused - allowed) == [], f"{role} holds grants no path used"


# What SAM attaches to every function role for the Lambda service itself (logs, X-Ray traces, and
# the SQS event source mapping's polling), never called by the code.
SERVICE_MANAGED = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
}
SQS_EVENT_SOURCE = "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_function_roles_attach_only_what_lambda_itself_uses(function: str):
    template = translated_sam_template(**SAM_PARAMETERS)
    stack = Stack(template, parameter_defaults(template, **SAM_PARAMETERS))
    attached = stack.resolve(template["Resources"][f"{function}Role"]["Properties"]["ManagedPolicyArns"])
    polled = function in {"WorkerFunction", "DeadLetterFunction"}
    assert set(attached) == SERVICE_MANAGED | ({SQS_EVENT_SOURCE} if polled else set())
