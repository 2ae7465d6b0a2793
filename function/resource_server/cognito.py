"""4. The Cognito calls: the only module that talks to AWS."""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    ReadTimeoutError,
)

from .contract import ResourceServer, Scope, ServerId
from .failure import RequestFailed

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient

logger = logging.getLogger(__name__)

# Cognito answers these calls in well under a second; an attempt that takes longer is lost.
CONNECT_TIMEOUT_S = 2.0
READ_TIMEOUT_S = 5.0


def client_config() -> Config:
    """botocore's standard retry mode decides which errors to retry, and how often (AWS_MAX_ATTEMPTS,
    else 3), except for throttling, which RetryPolicy paces. A new Config each time, since
    botocore writes the attempts it resolves into the one it is given."""
    return Config(
        retries={"mode": "standard"},
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        user_agent_extra="cognito-resource-server",
    )


# Time kept back from Cognito calls to deliver the answer before the Lambda deadline.
ANSWER_RESERVE_S = 2.0


class OutOfTime(Exception):
    """No attempt may start that could outlive the time left to answer."""


class RetryPolicy:
    """botocore's standard retry mode, bounded by the Lambda deadline, with throttling paced for Cognito.

    Cognito allows 5 writes/s per user pool, and CloudFormation creates sibling resources
    at once. botocore's backoff for throttling (full jitter, 1 s doubling to 20 s) leaves
    that rate idle: 25 creates in one pool spread over a median 17.6 s, against the 4.8 s
    the cap allows. Full jitter capped at 0.75 s keeps a request ready for each free slot
    (`make bench` measures it). No retry is taken that could outlive the deadline.
    """

    THROTTLING = frozenset({"TooManyRequestsException", "ThrottlingException", "Throttling"})
    # botocore's standard mode counts LimitExceededException as throttling. From Cognito it
    # means a quota, such as 25 resource servers per pool, which no retry can lift.
    NEVER_RETRIED = frozenset({"LimitExceededException"})
    THROTTLED_BASE_S = 0.25
    THROTTLED_CAP_S = 0.75
    MAX_BACKOFF_S = 20.0  # the longest backoff botocore's standard mode sleeps

    def __init__(self) -> None:
        self.deadline = math.inf
        self.attempt_s = CONNECT_TIMEOUT_S + READ_TIMEOUT_S
        # True once an attempt of the current call was sent and its outcome is unknown.
        self.in_doubt = False

    def attach(self, client: CognitoIdentityProviderClient) -> None:
        events = client.meta.events
        # botocore-stubs type handlers as returning None, but botocore reads a needs-retry handler's result.
        events.register_first("needs-retry.cognito-identity-provider", cast("Callable[..., None]", self.needs_retry))
        events.register_first("before-send.cognito-identity-provider", self.before_send)

    def needs_retry(
        self, response: Any = None, attempts: int = 1, caught_exception: Exception | None = None, **_: Any
    ) -> float | bool | None:
        """A delay to retry after, False to stop, or None to let botocore's standard mode decide."""
        status = response[0].status_code if response is not None else None
        code = response[1].get("Error", {}).get("Code") if response is not None else None
        if isinstance(caught_exception, ReadTimeoutError | ConnectionClosedError) or (status or 0) >= 500:
            self.in_doubt = True  # sent, and Cognito may have acted on it
        if caught_exception is None and status is not None and status < 300:
            return None
        if code in self.NEVER_RETRIED:
            return False
        if code in self.THROTTLING:
            ceiling = min(self.THROTTLED_BASE_S * 2 ** (attempts - 1), self.THROTTLED_CAP_S)
            delay = random.uniform(0, ceiling)  # noqa: S311 - jitter, not a secret
            return delay if time.monotonic() + delay + self.attempt_s <= self.deadline else False
        longest_backoff = min(2.0 ** (attempts - 1), self.MAX_BACKOFF_S)
        return False if time.monotonic() + longest_backoff + self.attempt_s > self.deadline else None

    def before_send(self, **_: Any) -> None:
        if time.monotonic() + self.attempt_s > self.deadline:
            raise OutOfTime


class Cognito:
    def __init__(self, client: CognitoIdentityProviderClient) -> None:
        self._client = client
        self._retries = RetryPolicy()
        self._retries.attach(client)
        # The server a CreateResourceServer was sent for, while its outcome is unknown.
        self.server_in_doubt: ServerId | None = None

    @classmethod
    def from_environment(cls) -> Cognito:
        """A client from the SDK's standard configuration, AWS_ENDPOINT_URL* included."""
        return cls(boto3.client("cognito-idp", config=client_config()))

    def set_time_left(self, remaining_ms: int) -> None:
        """Bound every call, retries included, by the Lambda time left, less what the answer needs."""
        self._retries.deadline = time.monotonic() + remaining_ms / 1000 - ANSWER_RESERVE_S
        self.server_in_doubt = None

    def create(self, server: ResourceServer) -> None:
        self._retries.in_doubt = False
        self.server_in_doubt = server.id
        try:
            response = self._client.create_resource_server(**_request(server))
        except ClientError as error:
            if "already exists" in _message(error):
                if self._retries.in_doubt and self._holds(server):
                    logger.info("An earlier attempt of this create landed", extra={"server": str(server.id)})
                    self.server_in_doubt = None
                    return
                self.server_in_doubt = None
                # Adopting it would let this stack's Delete remove a server it never made.
                raise RequestFailed(
                    f"Identifier already exists in user pool {server.user_pool_id}; "
                    "this resource does not adopt existing resource servers. "
                    "Delete it or choose another Identifier"
                ) from error
            raise self._create_failure(server, error) from error
        except (BotoCoreError, OutOfTime) as error:
            raise self._create_failure(server, error) from error
        self.server_in_doubt = None
        _log_call("CreateResourceServer", server.id, response)

    def _create_failure(self, server: ResourceServer, error: Exception) -> RequestFailed:
        """A failed create names its server when it may have landed, so a rollback Delete removes it."""
        failure = _failure("CreateResourceServer", server.id, error)
        unknown = self._retries.in_doubt or isinstance(error, ReadTimeoutError | ConnectionClosedError)
        if not unknown:
            self.server_in_doubt = None
            return failure
        logger.warning("CreateResourceServer may have landed; the answer names it", extra={"server": str(server.id)})
        return RequestFailed(failure.reason, physical_id=str(server.id))

    def _holds(self, server: ResourceServer) -> bool:
        try:
            held = self.describe(server.id)
        except RequestFailed:
            return False
        return held is not None and held.holds_same_state(server)

    def remove_if_landed(self, server: ResourceServer, watch_s: float = 2 * READ_TIMEOUT_S) -> bool:
        """After a create in doubt that nothing else will name: watch for the server a while, as an
        attempt the client gave up on may still land, and delete it whenever it holds exactly what
        was sent. True when it is absent at the end; False if someone else's holds the identifier."""
        until = min(time.monotonic() + watch_s, self._retries.deadline - self._retries.attempt_s)
        while True:
            try:
                held = self.describe(server.id)
                if held is not None and not held.holds_same_state(server):
                    return False
                if held is not None:
                    self.delete(server.id)
                    logger.info("Removed the server a create in doubt made", extra={"server": str(server.id)})
            except RequestFailed:
                return False
            if time.monotonic() + 1.0 > until:
                return True
            time.sleep(1.0)

    def update(self, server: ResourceServer) -> None:
        # UpdateResourceServer resets whatever is left out, so send the whole state.
        try:
            response = self._client.update_resource_server(**_request(server))
        except (ClientError, BotoCoreError, OutOfTime) as error:
            raise _failure("UpdateResourceServer", server.id, error) from error
        _log_call("UpdateResourceServer", server.id, response)

    def describe(self, server_id: ServerId) -> ResourceServer | None:
        """What Cognito holds, or None when the server or its pool is gone."""
        response = self._unless_gone("DescribeResourceServer", server_id, self._client.describe_resource_server)
        if response is None:
            return None
        held = response["ResourceServer"]
        return ResourceServer(
            user_pool_id=held.get("UserPoolId", server_id.user_pool_id),
            identifier=held.get("Identifier", server_id.identifier),
            name=held.get("Name", ""),
            scopes=tuple(Scope(s["ScopeName"], s["ScopeDescription"]) for s in held.get("Scopes", [])),
        )

    def delete(self, server_id: ServerId) -> bool:
        """Delete the server; False when it or its pool was already gone."""
        response = self._unless_gone("DeleteResourceServer", server_id, self._client.delete_resource_server)
        if response is None:
            return False
        _log_call("DeleteResourceServer", server_id, response)
        return True

    def _unless_gone(self, action: str, server_id: ServerId, call: Callable[..., Any]) -> Any | None:
        """Cognito's response to a call on the server, or None when the server or its pool is gone."""
        try:
            return call(UserPoolId=server_id.user_pool_id, Identifier=server_id.identifier)
        except ClientError as error:
            if _code(error) == "ResourceNotFoundException":
                return None
            raise _failure(action, server_id, error) from error
        except (BotoCoreError, OutOfTime) as error:
            raise _failure(action, server_id, error) from error


def _request(server: ResourceServer) -> dict[str, Any]:
    return {
        "UserPoolId": server.user_pool_id,
        "Identifier": server.identifier,
        "Name": server.name,
        "Scopes": [{"ScopeName": s.name, "ScopeDescription": s.description} for s in server.scopes],
    }


def _failure(action: str, server_id: ServerId, error: Exception) -> RequestFailed:
    """A reason that says what to do, then what Cognito said."""
    pool = server_id.user_pool_id
    if isinstance(error, OutOfTime):
        return RequestFailed(f"Out of time: no {action} attempt could finish before the Lambda deadline ({pool})")
    if isinstance(error, ReadTimeoutError | ConnectTimeoutError):
        return RequestFailed(f"Timed out: Cognito did not answer {action} within {READ_TIMEOUT_S:g} s ({pool})")
    if not isinstance(error, ClientError):
        return RequestFailed(f"{action} failed ({pool}): {error}")
    code, message = _code(error), _message(error)
    attempts = error.response.get("ResponseMetadata", {}).get("RetryAttempts", 0) + 1
    if code == "LimitExceededException":
        why = (
            f"Quota reached in user pool {pool}: Cognito allows 25 resource servers per pool by default; "
            "raise it in Service Quotas"
        )
    elif code in ("AccessDeniedException", "AccessDenied", "NotAuthorizedException"):
        why = f"Access denied to cognito-idp:{action} on user pool {pool}; add the pool to the provider's UserPoolArns"
    elif code == "ResourceNotFoundException":
        why = f"User pool {pool} not found"
    elif code in RetryPolicy.THROTTLING:
        why = f"Still throttled after {attempts} attempts on user pool {pool} (Cognito allows 5 writes/s per pool)"
    elif code == "InternalErrorException":
        why = f"Cognito internal error after {attempts} attempts on user pool {pool}; retry the deployment"
    else:
        why = f"Cognito refused it on user pool {pool}: {code}"
    return RequestFailed(f"{why} ({action}: {message})")


def _log_call(action: str, server_id: ServerId, response: Any) -> None:
    retries = response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
    logger.info(f"{action} succeeded", extra={"server": str(server_id), "retries": retries})


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", ""))
