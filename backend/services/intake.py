"""submit(): the one entry every frontend (Slack, HTTP API) uses to ask for a database.

Validate -> check who may ask -> claim the name and record the request (one transaction) ->
publish the message to SNS. If publishing fails, what was recorded is removed again and the
caller gets QueueUnavailable: a request is either fully accepted (recorded AND queued) or not
at all. Clients are injected; this module reads no settings and builds no client.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from backend.adapters.queue import ProvisionMessage
from backend.adapters.store import IdempotencyEntry, IdempotencyKeyInUse, RequestStore, fingerprint
from backend.domain import (
    FieldError,
    IdempotencyConflict,
    ProvisionRequest,
    QueueUnavailable,
    RequestRecord,
    RequestStatus,
    Source,
    ValidationFailed,
    check_prod_access,
    parse_request,
)

logger = Logger(child=True)

# Printable ASCII without spaces, like the keys clients generate (UUIDs, ULIDs, hashes).
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")


@dataclass(frozen=True)
class Submission:
    request_id: str
    # None only for a replay racing the first call, before that call stored its message id.
    sns_message_id: str | None
    record: RequestRecord
    # True when an Idempotency-Key replay returned an earlier request (nothing new was queued).
    replayed: bool = False


def _now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return str(uuid.uuid4())


class IntakeService:
    def __init__(
        self,
        store: RequestStore,
        sns_client: Any,
        topic_arn: str,
        *,
        prod_allowed_slack_users: Collection[str] = (),
        clock: Callable[[], datetime] = _now,
        new_id: Callable[[], str] = _new_id,
    ) -> None:
        self._store = store
        self._sns = sns_client
        self._topic_arn = topic_arn
        self._prod_allowed = tuple(prod_allowed_slack_users)
        self._clock = clock
        self._new_id = new_id

    def submit(
        self,
        data: Mapping[str, Any] | ProvisionRequest,
        *,
        requested_by: str,
        source: Source,
        idempotency_key: str | None = None,
    ) -> Submission:
        """Accept a request for a database, or raise why not (nothing is changed on any error).

        Raises ValidationFailed, NotAllowed, AlreadyRequested, IdempotencyConflict, QueueUnavailable.
        """
        request = data if isinstance(data, ProvisionRequest) else parse_request(data)
        if idempotency_key is not None and not _IDEMPOTENCY_KEY.fullmatch(idempotency_key):
            raise ValidationFailed(
                [
                    FieldError(
                        "Idempotency-Key",
                        "Idempotency-Key must be 1 to 255 printable ASCII characters without spaces",
                    )
                ]
            )
        check_prod_access(request, requested_by, source, self._prod_allowed)

        # What makes two calls "the same request": the request and who asked, not JSON formatting.
        print_ = fingerprint(
            {
                "request": request.model_dump(mode="json"),
                "requested_by": requested_by,
                "source": source.value,
            }
        )
        if idempotency_key is not None:
            replay = self._replay(idempotency_key, print_)
            if replay is not None:
                return replay

        now = self._clock()
        record = RequestRecord(
            request_id=self._new_id(),
            status=RequestStatus.ACCEPTED,
            database_name=request.database_name,
            database_engine=request.database_engine,
            environment=request.environment,
            owner=request.owner,
            purpose=request.purpose,
            requested_by=requested_by,
            source=source,
            created_at=now,
            updated_at=now,
            branch=request.branch_name,
            file_path=request.file_path,
            idempotency_key=idempotency_key,
        )
        entry = (
            None if idempotency_key is None else IdempotencyEntry(idempotency_key, record.request_id, print_)
        )
        try:
            self._store.accept(record, idempotency=entry)
        except IdempotencyKeyInUse:
            # A concurrent call with the same key won the race: answer as its replay would.
            replay = self._replay(idempotency_key or "", print_)
            if replay is None:  # pragma: no cover - the key vanished between the two reads
                raise IdempotencyConflict("this Idempotency-Key is being used; retry") from None
            return replay

        message = ProvisionMessage(
            request_id=record.request_id,
            request=request,
            requested_by=requested_by,
            source=source,
            submitted_at=now,
        )
        message_id = self._publish(record, message, idempotency_key)
        if idempotency_key is not None:
            self._store.set_idempotency_message_id(idempotency_key, record.request_id, message_id)
        logger.info(
            "request accepted",
            extra={
                "request_id": record.request_id,
                "database_name": record.database_name,
                "environment": record.environment.value,
                "source": source.value,
                "sns_message_id": message_id,
            },
        )
        return Submission(record.request_id, message_id, record, replayed=False)

    def _replay(self, key: str, print_: str) -> Submission | None:
        entry = self._store.get_idempotency(key)
        if entry is None:
            return None
        if entry.fingerprint != print_:
            raise IdempotencyConflict(
                "this Idempotency-Key was already used for a different request; use a new key"
            )
        record = self._store.get(entry.request_id)
        if record is None:  # pragma: no cover - undo removes the key together with the record
            return None
        logger.info("idempotent replay", extra={"request_id": record.request_id})
        return Submission(record.request_id, entry.sns_message_id, record, replayed=True)

    def _publish(self, record: RequestRecord, message: ProvisionMessage, idempotency_key: str | None) -> str:
        try:
            response = self._sns.publish(
                TopicArn=self._topic_arn,
                Message=message.to_json(),
                MessageAttributes=message.sns_attributes(),
            )
            return str(response["MessageId"])
        except (ClientError, BotoCoreError, KeyError) as error:
            logger.warning(
                "could not publish; undoing the request",
                extra={"request_id": record.request_id, "error": str(error)},
            )
            try:
                self._store.undo_accept(record, idempotency_key=idempotency_key)
            except Exception:
                # Left accepted but never queued: logged loudly so an operator can remove it.
                logger.exception(
                    "could not undo an unpublished request", extra={"request_id": record.request_id}
                )
            raise QueueUnavailable(
                "The request queue is not available right now; nothing was recorded. Try again shortly."
            ) from error
