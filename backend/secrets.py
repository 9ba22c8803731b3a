"""Secret values: given directly (local stack, tests) or fetched from Secrets Manager, cached."""

from __future__ import annotations

from typing import Any


def resolve_secret(value: str | None, secret_id: str | None, secrets_client: Any = None) -> str | None:
    """The secret's value: ``value`` if set, else Secrets Manager's ``secret_id`` (cached 5 minutes).

    Imported lazily so handlers that never need a secret pay nothing for it on a cold start.
    """
    if value:
        return value
    if not secret_id:
        return None
    from aws_lambda_powertools.utilities import parameters

    secret = parameters.get_secret(secret_id, max_age=300, boto3_client=secrets_client)
    return secret if isinstance(secret, str) else secret.decode()
