"""4. The Cognito calls: the only module that talks to AWS."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    ReadTimeoutError,
)

from . import __version__
from .contract import ResourceServer, Scope, ServerId
from .deadline import Budget, OutOfTime, RetryPolicy
from .failure import RequestFailed

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient

logger = logging.getLogger(__name__)

# Cognito answers these calls in well under a second; an attempt that takes longer is lost.
CONNECT_TIMEOUT_S = 2.0
READ_TIMEOUT_S = 5.0
# botocore's standard mode counts LimitExceededException as throttling. From Cognito it
# means a quota, such as 25 resource servers per pool, which no retry can lift.
NEVER_RETRIED = frozenset({"LimitExceededException"})


def client_config() -> Config:
    """botocore's standard retry mode decides which errors to retry, and how often (AWS_MAX_ATTEMPTS,
    else 3), except for throttling, which RetryPolicy paces. A new Config each time, since
    botocore writes the attempts it resolves into the one it is given."""
    return Config(
        retries={"mode": "standard"},
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        user_agent_extra=f"cognito-resource-server/{__version__}",
    )


class AlreadyExists(RequestFailed):
    """The Identifier was taken before this request tried to create it. Nothing names it."""

    def __init__(self, server: ResourceServer, held: ResourceServer | None) -> None:
        super().__init__(f"Identifier already exists in user pool {server.user_pool_id}")
        self.server = server
        self.held = held  # what Cognito held when this request looked, if it got to look


class PoolGone(RequestFailed):
    """The server's user pool does not exist."""


class Cognito:
    def __init__(self, client: CognitoIdentityProviderClient, budget: Budget | None = None) -> None:
        self._client = client
        budget = budget or Budget()
        config: Any = client.meta.config  # botocore-stubs leave out the timeouts Config resolves
        self._read_timeout_s = float(config.read_timeout)
        self._retries = RetryPolicy(budget.calls_end, NEVER_RETRIED, pace_throttling=True)
        self._retries.attach(client)
        # The server every answer to a Create must name: one this request made, or one whose
        # CreateResourceServer was sent and may have landed.
        self.server_named: ServerId | None = None

    @classmethod
    def from_environment(cls, budget: Budget) -> Cognito:
        """A client from the SDK's standard configuration, AWS_ENDPOINT_URL* included."""
        return cls(boto3.client("cognito-idp", config=client_config()), budget)

    def start_request(self) -> None:
        self.server_named = None

    def create(self, server: ResourceServer) -> None:
        """Make the server, or raise AlreadyExists if its Identifier is taken.

        It looks first: a create whose outcome is unknown may claim or name a server only
        when that server was absent before this request's first attempt.
        """
        if (held := self.describe(server.id)) is not None:
            raise AlreadyExists(server, held)
        self._retries.in_doubt = False
        self.server_named = server.id
        try:
            with self._retries.settling():
                response = self._client.create_resource_server(**_request(server))
        except ClientError as error:
            if "already exists" not in _message(error):
                raise self._create_failure(server, error) from error
            if self._retries.in_doubt and self._holds(server):
                logger.info("An earlier attempt of this create landed", extra={"server": str(server.id)})
                return
            # Made by someone else since this request looked: it is theirs.
            self.server_named = None
            raise AlreadyExists(server, None) from error
        except (BotoCoreError, OutOfTime) as error:
            raise self._create_failure(server, error) from error
        _log_call("CreateResourceServer", server.id, response)

    def _create_failure(self, server: ResourceServer, error: Exception) -> RequestFailed:
        """A failed create names its server when it may have landed, so a rollback Delete removes it."""
        failure = self._failure("CreateResourceServer", server.id, error)
        if isinstance(error, ClientError) and _code(error) == "ResourceNotFoundException":
            self.server_named = None
            return PoolGone(failure.reason)
        unknown = self._retries.in_doubt or isinstance(error, ReadTimeoutError | ConnectionClosedError)
        if not unknown:
            self.server_named = None
            return failure
        logger.warning("CreateResourceServer may have landed; the answer names it", extra={"server": str(server.id)})
        return RequestFailed(failure.reason, physical_id=str(server.id))

    def _holds(self, server: ResourceServer) -> bool:
        try:
            held = self.describe(server.id)
        except RequestFailed:
            return False
        return held is not None and held.holds_same_state(server)

    def remove_if_landed(self, server: ResourceServer) -> bool:
        """After a create in doubt that nothing else will name, and whose lost attempts have been
        waited out: delete the server if it landed, holding exactly what was sent. create() saw
        the Identifier free before, so what holds that state is ours. True when it is absent at
        the end; False if someone else's holds the Identifier, or Cognito can't say."""
        try:
            held = self.describe(server.id)
            if held is not None and not held.holds_same_state(server):
                return False
            if held is not None:
                self.delete(server.id)
                logger.info("Removed the server a create in doubt made", extra={"server": str(server.id)})
        except RequestFailed:
            return False
        self.server_named = None
        return True

    def adopt(self, server: ResourceServer, held: ResourceServer) -> None:
        """Take over a server that holds `held`: from here on every answer names it, so that a
        rollback finds it and gives it back; then apply the declared state, in full."""
        self.server_named = server.id
        if held.holds_same_state(server):
            logger.info("The adopted server already holds the declared state; no write")
        else:
            self.update(server)

    def give_back(self, prior: ResourceServer) -> None:
        """Put a server back as it was before it was adopted; make it again if it was deleted."""
        held = self.describe(prior.id)
        if held is None:
            logger.warning("The adopted server was deleted; making it again as it was", extra={"server": str(prior.id)})
            try:
                self.create(prior)
            except PoolGone:
                logger.warning("Its user pool is gone too; there is nothing to give it back to")
        elif held.holds_same_state(prior):
            logger.info("The adopted server already holds its prior state; no write")
        else:
            self.update(prior)

    def update(self, server: ResourceServer) -> None:
        # UpdateResourceServer resets whatever is left out, so send the whole state.
        try:
            with self._retries.settling():
                response = self._client.update_resource_server(**_request(server))
        except (ClientError, BotoCoreError, OutOfTime) as error:
            raise self._failure("UpdateResourceServer", server.id, error) from error
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
        with self._retries.settling():
            response = self._unless_gone("DeleteResourceServer", server_id, self._client.delete_resource_server)
        if response is None:
            return False
        _log_call("DeleteResourceServer", server_id, response)
        return True

    def _failure(self, action: str, server_id: ServerId, error: Exception) -> RequestFailed:
        return _failure(action, server_id, error, self._read_timeout_s)

    def _unless_gone(self, action: str, server_id: ServerId, call: Callable[..., Any]) -> Any | None:
        """Cognito's response to a call on the server, or None when the server or its pool is gone."""
        try:
            return call(UserPoolId=server_id.user_pool_id, Identifier=server_id.identifier)
        except ClientError as error:
            if _code(error) == "ResourceNotFoundException":
                return None
            raise self._failure(action, server_id, error) from error
        except (BotoCoreError, OutOfTime) as error:
            raise self._failure(action, server_id, error) from error


def _request(server: ResourceServer) -> dict[str, Any]:
    return {
        "UserPoolId": server.user_pool_id,
        "Identifier": server.identifier,
        "Name": server.name,
        "Scopes": [{"ScopeName": s.name, "ScopeDescription": s.description} for s in server.scopes],
    }


def _failure(action: str, server_id: ServerId, error: Exception, read_timeout_s: float) -> RequestFailed:
    """A reason that says what to do, then what Cognito said."""
    pool = server_id.user_pool_id
    if isinstance(error, OutOfTime):
        return RequestFailed(f"Out of time: no {action} attempt could finish before the Lambda deadline ({pool})")
    if isinstance(error, ReadTimeoutError | ConnectTimeoutError):
        return RequestFailed(f"Timed out: Cognito did not answer {action} within {read_timeout_s:g} s ({pool})")
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
