"""4. The Cognito calls: the only module that talks to Cognito. Policy (whose server it is,
whether to adopt or give back) is the plan's; this module makes each call, once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    ReadTimeoutError,
)

from . import __version__, aws
from .aws import COGNITO, OutOfTime, RetryPolicy, code, message
from .contract import ResourceServer, Scope, ServerId
from .failure import RequestFailed
from .pacing import Pacing

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient

logger = logging.getLogger(__name__)

# botocore's standard mode counts LimitExceededException as throttling. From Cognito it
# means a quota, such as 25 resource servers per pool, which no retry can lift.
NEVER_RETRIED = frozenset({"LimitExceededException"})
# A Delete or a Describe can be repeated safely: a server error is retried until the deadline.
# A Create or Update that failed with one is in doubt, and follows standard mode's 3 attempts.
REPEATABLE = frozenset({"DeleteResourceServer", "DescribeResourceServer", "ListResourceServers"})
# Calls that can't act: no write of theirs to wait out, and none that takes a slot of the write rate.
READS = frozenset({"DescribeResourceServer", "ListResourceServers"})
# ListResourceServers' largest page: a pool of 300 servers in 6 calls.
PAGE_SIZE = 50
# A multi-Region user pool's secondary Region answers this to every resource-server call.
NOT_ENABLED = "OperationNotEnabledException"


class Held(NamedTuple):
    """What Cognito holds for a server."""

    server: ResourceServer
    managed_by: str | None  # set when Cognito manages the server itself: not ours to touch


class AlreadyExists(RequestFailed):
    """The Identifier was taken when this request tried to create it."""

    def __init__(self, server: ResourceServer) -> None:
        super().__init__(f"Identifier already exists in user pool {server.user_pool_id}")
        self.server = server


class CreateFailed(RequestFailed):
    """CreateResourceServer failed; `in_doubt` when Cognito may have made the server after all."""

    def __init__(self, failure: RequestFailed, in_doubt: bool) -> None:
        super().__init__(failure.reason)
        self.in_doubt = in_doubt


class PoolGone(RequestFailed):
    """The server's user pool does not exist."""


class NotEnabled(RequestFailed):
    """The pool is a multi-Region pool's replica: its servers are managed in its primary Region."""


class Cognito:
    def __init__(self, cognito_idp: CognitoIdentityProviderClient, retries: RetryPolicy) -> None:
        self._client = cognito_idp
        self._retries = retries
        config: Any = cognito_idp.meta.config  # botocore-stubs leave out the timeouts Config resolves
        self._read_timeout_s = float(config.read_timeout)
        # Flaw: botocore before 1.44.3 has no ManagedBy in ResourceServerType and drops it from
        # what it parses. Read it from the raw answer, so that every SDK sees it.
        for operation in ("DescribeResourceServer", "ListResourceServers"):
            cognito_idp.meta.events.register(
                f"after-call.cognito-identity-provider.{operation}", self._remember_managed_by
            )
        self._managed_by: dict[str, str] = {}  # by Identifier, from the last call's raw answer

    @classmethod
    def from_environment(
        cls, deadline: Callable[[], float], pacing: Pacing | None = None, cognito_idp: Any = None
    ) -> Cognito:
        """A client from the SDK's standard configuration, AWS_ENDPOINT_URL* included; or
        `cognito_idp`, a client of the caller's own, bound by the same policy."""
        retries = cls.retry_policy(deadline, pacing)
        if cognito_idp is not None:
            retries.attach(cognito_idp)
            return cls(cognito_idp, retries)
        made = aws.client("cognito-idp", retries, COGNITO, user_agent_extra=f"cognito-resource-server/{__version__}")
        return cls(made, retries)

    @staticmethod
    def retry_policy(deadline: Callable[[], float], pacing: Pacing | None = None) -> RetryPolicy:
        return RetryPolicy(deadline, never_retried=NEVER_RETRIED, until_deadline=REPEATABLE, reads=READS, pacing=pacing)

    def describe(self, server_id: ServerId) -> Held | None:
        """What Cognito holds, or None when the server or its pool is gone."""
        self._managed_by = {}
        response = self._unless_gone("DescribeResourceServer", server_id, self._client.describe_resource_server)
        if response is None:
            return None
        return self._held(server_id.user_pool_id, response["ResourceServer"])

    def list_servers(self, user_pool_id: str) -> dict[str, Held]:
        """Every server the pool holds, by Identifier, a page of PAGE_SIZE a call. Raises PoolGone
        when the pool does not exist, else RequestFailed."""
        listed: dict[str, Held] = {}
        pages: dict[str, Any] = {}
        action, where = "ListResourceServers", ServerId(user_pool_id, "")
        while True:
            self._managed_by = {}
            try:
                page = self._client.list_resource_servers(UserPoolId=user_pool_id, MaxResults=PAGE_SIZE, **pages)
            except (ClientError, BotoCoreError, OutOfTime) as error:
                raise self._failure(action, where, error) from error
            for found in page.get("ResourceServers", []):
                held = self._held(user_pool_id, found)
                listed[held.server.identifier] = held
            if not (token := page.get("NextToken")):
                return listed
            pages = {"NextToken": token}

    def _held(self, user_pool_id: str, held: Any) -> Held:
        server = ResourceServer(
            user_pool_id=held.get("UserPoolId", user_pool_id),
            identifier=held.get("Identifier", ""),
            name=held.get("Name", ""),
            scopes=tuple(Scope(s["ScopeName"], s["ScopeDescription"]) for s in held.get("Scopes", [])),
        )
        return Held(server, held.get("ManagedBy") or self._managed_by.get(server.identifier))

    def create(self, server: ResourceServer) -> None:
        """Make the server. Raises AlreadyExists if its Identifier is taken, else CreateFailed."""
        with self._retries.writing() as write:
            try:
                response = self._client.create_resource_server(**_request(server))
            except ClientError as error:
                if "already exists" not in message(error):
                    raise self._create_failed(server, error, write.in_doubt) from error
                if write.in_doubt and self._holds(server):
                    logger.info("An earlier attempt of this create landed", extra={"server": str(server.id)})
                    return
                raise AlreadyExists(server) from error
            except (BotoCoreError, OutOfTime) as error:
                raise self._create_failed(server, error, write.in_doubt) from error
        _log_call("CreateResourceServer", server.id, response)

    def converge(self, target: ResourceServer, held: Held | None) -> Held:
        """Make Cognito hold `target`, given what it held when last described: create it if it is
        gone, update it in full if it differs, and write nothing if it already holds it."""
        if held is None:
            logger.warning("The server is gone; making it as declared", extra={"server": str(target.id)})
            self.create(target)
        elif held.server.holds_same_state(target):
            logger.info("Cognito already holds this state; no write", extra={"server": str(target.id)})
        else:
            self.update(target)
        return Held(target, None)

    def update(self, server: ResourceServer) -> None:
        # UpdateResourceServer resets whatever is left out, so send the whole state.
        try:
            with self._retries.writing():
                response = self._client.update_resource_server(**_request(server))
        except (ClientError, BotoCoreError, OutOfTime) as error:
            raise self._failure("UpdateResourceServer", server.id, error) from error
        _log_call("UpdateResourceServer", server.id, response)

    def delete(self, server_id: ServerId) -> bool:
        """Delete the server; False when it or its pool was already gone."""
        with self._retries.writing():
            response = self._unless_gone("DeleteResourceServer", server_id, self._client.delete_resource_server)
        if response is None:
            logger.info("The server or its user pool was already gone", extra={"server": str(server_id)})
            return False
        _log_call("DeleteResourceServer", server_id, response)
        return True

    def _holds(self, server: ResourceServer) -> bool:
        try:
            held = self.describe(server.id)
        except RequestFailed:
            return False
        return held is not None and held.server.holds_same_state(server)

    def _create_failed(self, server: ResourceServer, error: Exception, in_doubt: bool) -> RequestFailed:
        failure = self._failure("CreateResourceServer", server.id, error)
        if isinstance(failure, PoolGone | NotEnabled):
            return failure
        # A lost answer leaves the outcome unknown, as does a 5xx.
        in_doubt = in_doubt or isinstance(error, ReadTimeoutError | ConnectionClosedError)
        if in_doubt:
            logger.warning("CreateResourceServer may have landed", extra={"server": str(server.id)})
        return CreateFailed(failure, in_doubt)

    def _failure(self, action: str, server_id: ServerId, error: Exception) -> RequestFailed:
        return _failure(action, server_id, error, self._read_timeout_s)

    def _unless_gone(self, action: str, server_id: ServerId, call: Callable[..., Any]) -> Any | None:
        """Cognito's response to a call on the server, or None when the server or its pool is gone."""
        try:
            return call(UserPoolId=server_id.user_pool_id, Identifier=server_id.identifier)
        except ClientError as error:
            if code(error) == "ResourceNotFoundException":
                return None
            raise self._failure(action, server_id, error) from error
        except (BotoCoreError, OutOfTime) as error:
            raise self._failure(action, server_id, error) from error

    def _remember_managed_by(self, http_response: Any = None, **_: Any) -> None:
        try:
            raw = json.loads(http_response.content or b"{}")
        except (AttributeError, ValueError):
            return
        if not isinstance(raw, dict):
            return
        servers = raw.get("ResourceServers") or [raw.get("ResourceServer") or {}]
        self._managed_by = {
            str(found.get("Identifier")): str(found["ManagedBy"])
            for found in servers
            if isinstance(found, dict) and found.get("ManagedBy")
        }


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
        return RequestFailed(f"Out of time: no {action} attempt could finish before the deadline ({pool})")
    if isinstance(error, ReadTimeoutError | ConnectTimeoutError):
        return RequestFailed(f"Timed out: Cognito did not answer {action} within {read_timeout_s:g} s ({pool})")
    if not isinstance(error, ClientError):
        return RequestFailed(f"{action} failed ({pool}): {error}")
    error_code, said = code(error), message(error)
    attempts = error.response.get("ResponseMetadata", {}).get("RetryAttempts", 0) + 1
    kind = RequestFailed
    if error_code == "LimitExceededException":
        why = (
            f"Quota reached in user pool {pool}: Cognito allows 25 resource servers per pool by default; "
            "raise it in Service Quotas"
        )
    elif error_code in ("AccessDeniedException", "AccessDenied", "NotAuthorizedException"):
        why = f"Access denied to cognito-idp:{action} on user pool {pool}; add the pool to the provider's UserPoolArns"
    elif error_code == "ResourceNotFoundException":
        why, kind = f"User pool {pool} not found", PoolGone
    elif error_code == NOT_ENABLED:
        why, kind = (
            f"User pool {pool} is a replica of a multi-Region pool: manage its resource servers "
            "in the pool's primary Region",
            NotEnabled,
        )
    elif error_code in RetryPolicy.THROTTLING:
        why = f"Still throttled after {attempts} attempts on user pool {pool} (Cognito allows 5 writes/s per pool)"
    elif error_code == "InternalErrorException":
        why = f"Cognito internal error after {attempts} attempts on user pool {pool}; retry the deployment"
    else:
        why = f"Cognito refused it on user pool {pool}: {error_code}"
    return kind(f"{why} ({action}: {said})")


def _log_call(action: str, server_id: ServerId, response: Any) -> None:
    retries = response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
    logger.info(f"{action} succeeded", extra={"server": str(server_id), "retries": retries})
