"""A stand-in for the AWS Parameters and Secrets Lambda Extension, at the edge of the secrets adapter.

It answers as the extension's local HTTP server does: ``GET /secretsmanager/get?secretId=<id>``
with the function's session token in ``X-Aws-Parameters-Secrets-Token`` returns GetSecretValue's
JSON. The value comes from Secrets Manager itself (moto, in process or a moto server), called with
whatever credentials the process holds, as the extension calls it with the function's role. A
request without the right token is refused (401), an unknown path is 404, and Secrets Manager's
refusal (no such secret, access denied) is passed on as a 400 carrying its error, as the extension
does. Like the extension on a cold start it caches no value: every request is one GetSecretValue.
``requests`` lists the secret ids asked for.

    with SecretsExtensionStandIn(session_token=lambda: "token", region="us-east-1") as extension:
        settings = Settings(secrets_extension_port=extension.port, aws_session_token="token", ...)
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"


class SecretsExtensionStandIn:
    def __init__(
        self,
        *,
        session_token: Callable[[], str | None],
        region: str,
        endpoint_url: str | None = None,
    ) -> None:
        self.session_token = session_token
        self.region = region
        self.endpoint_url = endpoint_url
        self.requests: list[str] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._clients: dict[str | None, Any] = {}

    @property
    def port(self) -> int:
        assert self._server is not None, "the stand-in is not running"
        return int(self._server.server_address[1])

    def answer(self, path: str, token: str | None) -> tuple[int, dict[str, Any]]:
        """The status and JSON body the extension gives for ``GET path`` carrying ``token``."""
        expected = self.session_token()
        if not token or token != expected:
            return 401, {"message": "missing or invalid X-Aws-Parameters-Secrets-Token"}
        parts = urlsplit(path)
        secret_ids = parse_qs(parts.query).get("secretId", [])
        if parts.path != "/secretsmanager/get" or len(secret_ids) != 1:
            return 404, {"message": f"no such route: {parts.path}"}
        secret_id = secret_ids[0]
        self.requests.append(secret_id)
        from botocore.exceptions import ClientError

        try:
            answer = self._client(expected).get_secret_value(SecretId=secret_id)
        except ClientError as error:
            return 400, {"message": str(error)}
        keys = ("ARN", "Name", "VersionId", "SecretString", "VersionStages")
        return 200, {key: answer[key] for key in keys if key in answer}

    def _client(self, session_token: str | None) -> Any:
        """The extension's Secrets Manager client: built once per function (its session token),
        as the extension builds it in its own process, so a request costs one GetSecretValue."""
        with self._lock:
            if session_token not in self._clients:
                import boto3

                # A new session reads the credentials the process holds now (the function's role).
                session = boto3.session.Session(region_name=self.region)
                self._clients[session_token] = session.client(
                    "secretsmanager", endpoint_url=self.endpoint_url
                )
            return self._clients[session_token]

    def __enter__(self) -> SecretsExtensionStandIn:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body = stand_in.answer(self.path, self.headers.get(TOKEN_HEADER))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._server is not None
        assert self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
