"""4. The Cognito calls: the only module that talks to AWS."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import boto3
from aws_lambda_powertools import Logger
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, ReadTimeoutError

from .contract import ResourceServer, Scope, ServerId
from .failure import RequestFailed

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient

logger = Logger(child=True)

# Cognito answers these calls in well under a second; an attempt that takes longer is lost.
CONNECT_TIMEOUT_S = 2.0
READ_TIMEOUT_S = 5.0
# Cognito caps each write at 5 requests/s per user pool, and CloudFormation starts
# sibling resources in parallel, so throttling is normal here: retry it, while time allows.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 12},
    connect_timeout=CONNECT_TIMEOUT_S,
    read_timeout=READ_TIMEOUT_S,
    user_agent_extra="cognito-resource-server",
)
# botocore's standard mode counts LimitExceededException as throttling. From Cognito it
# means a quota, such as 25 resource servers per pool, which no retry can lift.
NEVER_RETRIED = frozenset({"LimitExceededException"})
# Time kept back from Cognito calls to deliver the answer before the Lambda deadline.
ANSWER_RESERVE_S = 2.0
# The longest backoff botocore's standard mode sleeps before a retry.
MAX_BACKOFF_S = 20.0


class OutOfTime(Exception):
    """No attempt may start that could outlive the time left to answer."""


class Cognito:
    def __init__(self, client: CognitoIdentityProviderClient) -> None:
        self._client = client
        self._deadline = math.inf
        self._attempt_s = CONNECT_TIMEOUT_S + READ_TIMEOUT_S
        events = client.meta.events
        # botocore-stubs type handlers as returning None, but botocore reads a needs-retry handler's result.
        events.register_first("needs-retry.cognito-identity-provider", cast("Callable[..., None]", self._stop_retries))
        events.register_first("before-send.cognito-identity-provider", self._check_time)

    def set_time_left(self, remaining_ms: int) -> None:
        """Bound every call, retries included, by the Lambda time left, less what the answer needs."""
        self._deadline = time.monotonic() + remaining_ms / 1000 - ANSWER_RESERVE_S

    def _stop_retries(self, response: Any = None, attempts: int = 1, **_: Any) -> bool | None:
        """False vetoes botocore's retry; None lets its retry mode decide."""
        if response is not None and response[1].get("Error", {}).get("Code") in NEVER_RETRIED:
            return False
        longest_backoff = min(2.0 ** (attempts - 1), MAX_BACKOFF_S)
        if time.monotonic() + longest_backoff + self._attempt_s > self._deadline:
            return False
        return None

    def _check_time(self, **_: Any) -> None:
        if time.monotonic() + self._attempt_s > self._deadline:
            raise OutOfTime

    @classmethod
    def from_environment(cls) -> Cognito:
        """A client from the SDK's standard configuration, AWS_ENDPOINT_URL* included."""
        return cls(boto3.client("cognito-idp", config=CLIENT_CONFIG))

    def create(self, server: ResourceServer) -> None:
        try:
            response = self._client.create_resource_server(**_request(server))
        except ClientError as error:
            if "already exists" in _message(error):
                # Adopting it would let this stack's Delete remove a server it never made.
                raise RequestFailed(
                    f"Identifier already exists in user pool {server.user_pool_id}; "
                    "this resource does not adopt existing resource servers. "
                    "Delete it or choose another Identifier"
                ) from error
            raise _failure("CreateResourceServer", server.id, error) from error
        except (BotoCoreError, OutOfTime) as error:
            raise _failure("CreateResourceServer", server.id, error) from error
        _log_call("CreateResourceServer", server.id, response)

    def update(self, server: ResourceServer) -> None:
        # UpdateResourceServer resets whatever is left out, so send the whole state.
        try:
            response = self._client.update_resource_server(**_request(server))
        except (ClientError, BotoCoreError, OutOfTime) as error:
            raise _failure("UpdateResourceServer", server.id, error) from error
        _log_call("UpdateResourceServer", server.id, response)

    def describe(self, server_id: ServerId) -> ResourceServer | None:
        """What Cognito holds, or None when the server or its pool is gone."""
        try:
            response = self._client.describe_resource_server(
                UserPoolId=server_id.user_pool_id, Identifier=server_id.identifier
            )
        except ClientError as error:
            if _code(error) == "ResourceNotFoundException":
                return None
            raise _failure("DescribeResourceServer", server_id, error) from error
        except (BotoCoreError, OutOfTime) as error:
            raise _failure("DescribeResourceServer", server_id, error) from error
        held = response["ResourceServer"]
        return ResourceServer(
            user_pool_id=held.get("UserPoolId", server_id.user_pool_id),
            identifier=held.get("Identifier", server_id.identifier),
            name=held.get("Name", ""),
            scopes=tuple(Scope(s["ScopeName"], s["ScopeDescription"]) for s in held.get("Scopes", [])),
        )

    def delete(self, server_id: ServerId) -> bool:
        """Delete the server; False when it or its pool was already gone."""
        try:
            response = self._client.delete_resource_server(
                UserPoolId=server_id.user_pool_id, Identifier=server_id.identifier
            )
        except ClientError as error:
            if _code(error) == "ResourceNotFoundException":
                return False
            raise _failure("DeleteResourceServer", server_id, error) from error
        except (BotoCoreError, OutOfTime) as error:
            raise _failure("DeleteResourceServer", server_id, error) from error
        _log_call("DeleteResourceServer", server_id, response)
        return True


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
        return RequestFailed(f"Cognito did not answer {action} in time ({pool}): {error}")
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
    elif code == "TooManyRequestsException":
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
