"""Each function and record-applied holds exactly what its code calls, proven by running it.

The story (``story.py``) runs every path of the six functions and of CircleCI's record-applied job
against moto with IAM enforcement on, each as a role holding exactly the policies the translated
SAM template or ``bootstrap/ci-roles.yaml`` gives it. A call its policy does not allow fails here;
so does a grant no path used, unless ``UNUSED`` says why it must stay.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.integration.iam.deployment import FUNCTIONS, SAM_PARAMETERS
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


def test_each_role_holds_exactly_what_its_code_calls(tmp_path: Path):
    """One story for every role (it takes a while): each role's refusals and unused grants."""
    with told_story(tmp_path) as enforcer:
        problems: dict[str, list[str]] = {}
        for role in ROLES:
            held = enforcer.held[role]
            unused = set(describe(grants_of(held.documents))) - set(describe(enforcer.used[role]))
            excused = {g for g in unused if any(g.startswith(prefix) for prefix in UNUSED.get(role, {}))}
            found = [f"refused: {call}" for call in sorted(set(enforcer.denied[role]))]
            found += [f"granted, never used: {grant}" for grant in sorted(unused - excused)]
            if not enforcer.calls[role]:
                found.append("made no AWS call: the story does not run it")
            if found:
                problems[role] = found
    assert problems == {}, "\n".join(f"{role}:\n  " + "\n  ".join(lines) for role, lines in problems.items())


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
