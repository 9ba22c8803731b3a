"""Secret values: given directly (local stack, tests) or fetched from Secrets Manager, cached.

A secret in Secrets Manager may hold the value as plain text, or as a JSON object: the console's
default "key/value" secret. In a JSON object the value is under the key ``value``; an object with
exactly one key is read whatever that key is called (``{"token": "ghp_..."}``). Any other shape
is a configuration error that names the secret (and its keys, never a value), raised where the
secret is first used, instead of a silent 401 or a failing signature check later.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from backend.domain import PermanentError

VALUE_KEY = "value"


class SecretMisconfigured(PermanentError):
    """A secret exists but its value is not in a shape the product can read."""


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
    text = secret if isinstance(secret, str) else bytes(secret).decode()
    return secret_value(secret_id, text)


def secret_value(secret_id: str, text: str) -> str:
    """The usable value of a secret stored as ``text`` (plain, or a JSON object; see the module)."""
    stripped = text.strip()
    if not stripped.startswith("{"):
        if not stripped:
            raise SecretMisconfigured(f"secret {secret_id} is empty")
        return stripped
    try:
        data = json.loads(stripped)
    except ValueError:
        raise SecretMisconfigured(
            f"secret {secret_id} starts with '{{' but is not valid JSON; store the value as plain text, "
            f'or as {{"{VALUE_KEY}": "..."}}'
        ) from None
    if not isinstance(data, dict):  # pragma: no cover - a JSON text starting with { is an object
        raise SecretMisconfigured(f"secret {secret_id} is JSON but not an object")
    candidates = [data[VALUE_KEY]] if VALUE_KEY in data else list(data.values()) if len(data) == 1 else []
    if len(candidates) != 1 or not isinstance(candidates[0], str) or not candidates[0].strip():
        keys = ", ".join(sorted(str(key) for key in data)) or "none"
        raise SecretMisconfigured(
            f"secret {secret_id} is a JSON object with keys [{keys}]; put the value under "
            f'"{VALUE_KEY}" (or keep a single key), as a non-empty string, or store it as plain text'
        )
    return str(candidates[0]).strip()


@lru_cache(maxsize=8)
def _provider(secrets_client: Any) -> Any:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider(boto3_client=secrets_client)
