"""Secret values: given directly (local stack, tests) or fetched from Secrets Manager, cached."""

from __future__ import annotations

from functools import lru_cache
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

    if secrets_client is None:
        secret = parameters.get_secret(secret_id, max_age=300)
    else:
        # get_secret() would pass boto3_client on to GetSecretValue and use its own default client
        # (no endpoint, so never the local moto server); a provider owns the client we were given.
        secret = _provider(secrets_client).get(secret_id, max_age=300)
    return secret if isinstance(secret, str) else bytes(secret).decode()


@lru_cache(maxsize=8)
def _provider(secrets_client: Any) -> Any:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider(boto3_client=secrets_client)
