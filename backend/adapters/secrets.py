"""Secret values: given directly (local stack, tests) or fetched from Secrets Manager, cached.

Secrets Manager is reached either through boto3 (Powertools' provider, cached 5 minutes here) or,
with ``SECRETS_EXTENSION_PORT`` set, through the AWS Parameters and Secrets Lambda Extension: a
layer whose process answers GetSecretValue on ``localhost`` and caches it (5 minutes by default,
``SECRETS_MANAGER_TTL``), read here with the standard library only, so a function that needs no
other AWS client never imports boto3.

A secret in Secrets Manager may hold the value as plain text, or as a JSON object: the console's
default "key/value" secret. In a JSON object the value is under the key ``value``; an object with
exactly one key is read whatever that key is called (``{"token": "ghp_..."}``). Any other shape
is a configuration error that names the secret (and its keys, never a value), raised where the
secret is first used, instead of a silent 401 or a failing signature check later.
"""

from __future__ import annotations

import json
import time
from functools import lru_cache
from typing import Any, Protocol

from backend.domain import PermanentError

VALUE_KEY = "value"


class SecretMisconfigured(PermanentError):
    """A secret exists but its value is not in a shape the product can read."""


class SecretSource(Protocol):
    """Where a secret's stored text comes from, by Secrets Manager name or ARN."""

    def secret_text(self, secret_id: str) -> str: ...


class SecretsExtension:
    """GetSecretValue through the AWS Parameters and Secrets Lambda Extension (standard library only).

    ``GET http://localhost:<port>/secretsmanager/get?secretId=<id>`` with the function's session
    token in ``X-Aws-Parameters-Secrets-Token`` answers GetSecretValue's JSON. The extension
    refuses requests until it has registered (during the function's init it may answer "not ready"
    or not listen yet): those are retried for ``ready_within`` seconds. Any other refusal (a secret
    that does not exist, a role that may not read it, a missing token) is SecretMisconfigured,
    naming the secret and the extension's answer.
    """

    TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"  # noqa: S105 - a header name, not a secret

    def __init__(
        self, port: int, session_token: str | None, *, timeout: float = 2.0, ready_within: float = 1.0
    ) -> None:
        self.base_url = f"http://localhost:{port}"
        self.session_token = session_token or ""
        self.timeout = timeout
        self.ready_within = ready_within

    def secret_text(self, secret_id: str) -> str:
        from urllib.error import HTTPError, URLError
        from urllib.parse import quote
        from urllib.request import Request, urlopen

        request = Request(  # noqa: S310 - always http://localhost:<port>
            f"{self.base_url}/secretsmanager/get?secretId={quote(secret_id, safe='')}",
            headers={self.TOKEN_HEADER: self.session_token},
        )
        deadline = time.monotonic() + self.ready_within
        while True:
            try:
                with urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - see above
                    answer = json.loads(response.read())
                break
            except HTTPError as error:
                detail = error.read().decode(errors="replace").strip()[:300]
                if "not ready" in detail.lower() and time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                raise SecretMisconfigured(
                    f"secret {secret_id} could not be read through the Parameters and Secrets extension "
                    f"({self.base_url}): HTTP {error.code} {detail}"
                ) from None
            except (URLError, ConnectionError) as error:
                if time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                raise SecretMisconfigured(
                    f"secret {secret_id}: the Parameters and Secrets extension does not answer at "
                    f"{self.base_url} ({error}); is its layer attached and SECRETS_EXTENSION_PORT its port?"
                ) from None
        if isinstance(answer, dict) and isinstance(answer.get("SecretString"), str):
            return str(answer["SecretString"])
        if isinstance(answer, dict) and isinstance(answer.get("SecretBinary"), str):
            import base64

            return base64.b64decode(answer["SecretBinary"]).decode()
        raise SecretMisconfigured(f"secret {secret_id}: the extension's answer holds no SecretString")


def resolve_secret(
    value: str | None,
    secret_id: str | None,
    secrets_client: Any = None,
    *,
    source: SecretSource | None = None,
) -> str | None:
    """The secret's value: ``value`` if set, else Secrets Manager's ``secret_id``.

    Read through ``source`` when given (the extension, which caches), else through boto3 (cached
    5 minutes). Imported lazily so handlers that never need a secret pay nothing for it on a cold
    start.
    """
    if value:
        return value
    if not secret_id:
        return None
    if source is not None:
        return secret_value(secret_id, source.secret_text(secret_id))
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
