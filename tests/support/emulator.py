"""Cognito as the tests and `make demo` see it: moto, plus the two calls moto lacks.

Why this exists: moto implements CreateResourceServer and DescribeResourceServer but not
UpdateResourceServer or DeleteResourceServer (checked against moto 5.2.6, the release the lock
pins). This is the one place that adds them, following the Cognito API reference:

- UpdateResourceServer replaces Name and the whole scope set; scopes left out are gone.
- Identifier and UserPoolId can't change: they only address the server.
- A missing user pool or server is ResourceNotFoundException, for Update and Delete alike.
- A pool holds at most 25 resource servers (the default quota): LimitExceededException.
- A server Cognito manages itself shows `ManagedBy` (botocore 1.44.3), set here with `manage()`.

What the tests' model of CloudFormation needs of moto's CloudFormation is in cloudformation.py.

`install()` patches moto in this process, for `mock_aws` and for `CognitoEmulator`, the
moto server on 127.0.0.1 that end-to-end tests and the demo run handlers against.

`FAULTS` makes that Cognito misbehave on cue, the same way for every test: enforce the
per-pool write rate, hold a call before acting on it, or fail with a chosen error. Every
DynamoDB and CloudFormation call the function makes can be held or failed the same way.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from moto.cloudformation.exceptions import CloudFormationError
from moto.cloudformation.models import cloudformation_backends
from moto.cloudformation.responses import CloudFormationResponse
from moto.cognitoidp.exceptions import ResourceNotFoundError
from moto.cognitoidp.models import CognitoIdpBackend, CognitoResourceServer, cognitoidp_backends
from moto.cognitoidp.responses import CognitoIdpResponse
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import camelcase_to_underscores
from moto.dynamodb.responses import DynamoHandler
from moto.server import ThreadedMotoServer
from werkzeug import serving

from tests.support import cloudformation
from tests.support.cloudformation import REGION

IDEMPOTENCY_TABLE = "cognito-resource-server-idempotency"
LEDGER_TABLE = "cognito-resource-server-ledger"
TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
SERVERS_PER_POOL = 25  # Cognito's default quota, adjustable to 300: FAULTS.servers_per_pool raises it


WRITES = ("CreateResourceServer", "UpdateResourceServer", "DeleteResourceServer")
OPERATIONS = (*WRITES, "DescribeResourceServer", "ListResourceServers")
# Other services' calls the function makes, which FAULTS can also hold or fail.
OTHER_OPERATIONS: dict[Any, tuple[str, ...]] = {
    DynamoHandler: ("PutItem", "UpdateItem", "GetItem", "DeleteItem", "Query", "Scan", "DescribeTable"),
    CloudFormationResponse: ("DescribeStacks", "DescribeStackEvents", "DescribeStackResource"),
}


class LimitExceededError(JsonRESTError):
    def __init__(self, message: str) -> None:
        super().__init__("LimitExceededException", message)


class CognitoError(JsonRESTError):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(code, message)
        self.code = status


@dataclass(frozen=True)
class Accepted:
    at: float  # time.monotonic() when Cognito acted on the call
    operation: str
    user_pool_id: str
    identifier: str


class Faults:
    """Cognito misbehaving on cue. Shared by every request the emulator serves in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.writes_per_second: float | None = None
            self.servers_per_pool = SERVERS_PER_POOL
            self._next_slot: dict[tuple[str, str], float] = {}
            self._failures: dict[str, list[CognitoError]] = {}
            self._holds: dict[str, list[tuple[float, bool]]] = {}
            self.accepted: list[Accepted] = []
            self.attempts: Counter[str] = Counter()  # calls that reached Cognito, faults included
            self.throttled = 0

    def pending(self) -> int:
        """Failures and holds queued and not yet met by a call."""
        with self._lock:
            return sum(map(len, self._failures.values())) + sum(map(len, self._holds.values()))

    def clear(self) -> None:
        """Drop the queued failures and holds; the rate cap and the counts stay."""
        with self._lock:
            self._failures, self._holds = {}, {}

    def throttle(self, writes_per_second: float = 5.0) -> None:
        """Cognito's cap: each write operation at most this often per user pool, evenly spaced."""
        self.writes_per_second = writes_per_second

    def fail(self, operation: str, code: str, *, times: int = 1, status: int = 400, message: str = "") -> None:
        error = CognitoError(code, message or f"{code} (injected by the test)", status)
        with self._lock:
            self._failures.setdefault(operation, []).extend([error] * times)

    def hold(self, operation: str, seconds: float, *, times: int = 1, act_first: bool = False) -> None:
        """Hold the next calls for `seconds`, so the caller may give up first. The call takes effect
        after the hold, or with `act_first` before it, as when only the answer is lost."""
        with self._lock:
            self._holds.setdefault(operation, []).extend([(seconds, act_first)] * times)

    def next_hold(self, operation: str) -> tuple[float, bool]:
        with self._lock:
            holds = self._holds.get(operation)
            return holds.pop(0) if holds else (0.0, False)

    def before(self, operation: str, user_pool_id: str) -> None:
        with self._lock:
            self.attempts[operation] += 1
            failures = self._failures.get(operation)
            if failures:
                raise failures.pop(0)
            if self.writes_per_second and operation in WRITES:
                now, key = time.monotonic(), (user_pool_id, operation)
                if now < self._next_slot.get(key, 0.0):
                    self.throttled += 1
                    raise CognitoError("TooManyRequestsException", "Too many requests")
                self._next_slot[key] = now + 1 / self.writes_per_second

    def record(self, operation: str, user_pool_id: str, identifier: str) -> None:
        with self._lock:
            self.accepted.append(Accepted(time.monotonic(), operation, user_pool_id, identifier))

    def makespan(self, operation: str) -> float:
        """Seconds from the first to the last accepted call of an operation."""
        times = [a.at for a in self.accepted if a.operation == operation]
        return max(times) - min(times) if times else 0.0


FAULTS = Faults()


def _server(backend: CognitoIdpBackend, user_pool_id: str, identifier: str) -> CognitoResourceServer:
    pool = backend.user_pools.get(user_pool_id)
    if pool is None:
        raise ResourceNotFoundError(f"User pool {user_pool_id} does not exist.")
    server = pool.resource_servers.get(identifier)
    if server is None:
        raise ResourceNotFoundError(f"Resource server {identifier} does not exist.")
    return server


def update_resource_server(
    self: CognitoIdpBackend, user_pool_id: str, identifier: str, name: str, scopes: list[dict[str, str]] | None
) -> CognitoResourceServer:
    server = _server(self, user_pool_id, identifier)
    server.name = name
    server.scopes = scopes or []  # the whole set is replaced
    return server


def delete_resource_server(self: CognitoIdpBackend, user_pool_id: str, identifier: str) -> None:
    _server(self, user_pool_id, identifier)
    del self.user_pools[user_pool_id].resource_servers[identifier]


def manage(user_pool_id: str, identifier: str, by: str = "cognito") -> None:
    """Mark a server as one Cognito manages itself, as its ManagedBy field says (botocore 1.44.3)."""
    server = _server(cognitoidp_backends[DEFAULT_ACCOUNT_ID][REGION], user_pool_id, identifier)
    server.managed_by = by  # type: ignore[attr-defined]


def _with_managed_by(to_json: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    @functools.wraps(to_json)
    def server_json(self: CognitoResourceServer) -> dict[str, Any]:
        shown = to_json(self)
        if managed := getattr(self, "managed_by", None):
            shown["ManagedBy"] = managed
        return shown

    return server_json


def _with_pool_quota(create: Callable[..., CognitoResourceServer]) -> Callable[..., CognitoResourceServer]:
    @functools.wraps(create)
    def create_resource_server(
        self: CognitoIdpBackend, user_pool_id: str, identifier: str, *args: Any
    ) -> CognitoResourceServer:
        pool = self.describe_user_pool(user_pool_id)
        quota = FAULTS.servers_per_pool
        if identifier not in pool.resource_servers and len(pool.resource_servers) >= quota:
            raise LimitExceededError(f"Max number of resource servers ({quota}) reached for user pool.")
        return create(self, user_pool_id, identifier, *args)

    return create_resource_server


def _with_pool_check(list_servers: Callable[..., Any]) -> Callable[..., Any]:
    """Flaw: moto's ListResourceServers looks the pool up with [], so a pool that is gone is a
    KeyError, a 500; Cognito answers ResourceNotFoundException, as for any call on it."""

    @functools.wraps(list_servers)
    def list_resource_servers(self: CognitoIdpBackend, user_pool_id: str, *args: Any, **kwargs: Any) -> Any:
        self.describe_user_pool(user_pool_id)
        return list_servers(self, user_pool_id, *args, **kwargs)

    return list_resource_servers


def _respond_update(self: CognitoIdpResponse) -> ActionResult:
    server = self.backend.update_resource_server(  # type: ignore[attr-defined]
        self._get_param("UserPoolId"), self._get_param("Identifier"), self._get_param("Name"), self._get_param("Scopes")
    )
    return ActionResult({"ResourceServer": server.to_json()})


def _respond_delete(self: CognitoIdpResponse) -> ActionResult:
    self.backend.delete_resource_server(self._get_param("UserPoolId"), self._get_param("Identifier"))  # type: ignore[attr-defined]
    return EmptyResult()


def _with_faults(operation: str, respond: Callable[[Any], ActionResult], xml: bool = False) -> Any:
    @functools.wraps(respond)
    def respond_with_faults(self: Any) -> ActionResult:
        # Other services' calls have no pool or Identifier: "" for both.
        user_pool_id, identifier = self._get_param("UserPoolId") or "", self._get_param("Identifier") or ""
        try:
            FAULTS.before(operation, user_pool_id)
        except CognitoError as error:
            if not xml:
                raise
            # CloudFormation speaks the query protocol: its errors are XML.
            raise CloudFormationError(error.error_type, error.message) from error
        hold, act_first = FAULTS.next_hold(operation)
        if not act_first:
            time.sleep(hold)
        result = respond(self)
        FAULTS.record(operation, user_pool_id, identifier)
        if act_first:
            time.sleep(hold)
        return result

    respond_with_faults.with_faults = True  # type: ignore[attr-defined]
    return respond_with_faults


def install() -> None:
    """Teach moto UpdateResourceServer, DeleteResourceServer, the pool quota and FAULTS. Safe to call again."""
    backend: Any = CognitoIdpBackend
    response: Any = CognitoIdpResponse
    if getattr(response.create_resource_server, "with_faults", False):
        return
    backend.update_resource_server = update_resource_server
    backend.delete_resource_server = delete_resource_server
    backend.create_resource_server = _with_pool_quota(backend.create_resource_server)
    backend.list_resource_servers = _with_pool_check(backend.list_resource_servers)
    server: Any = CognitoResourceServer
    server.to_json = _with_managed_by(server.to_json)
    cloudformation.install()
    response.update_resource_server = _respond_update
    response.delete_resource_server = _respond_delete
    for operation in OPERATIONS:
        method = camelcase_to_underscores(operation)
        setattr(response, method, _with_faults(operation, getattr(response, method)))
    for responses, operations in OTHER_OPERATIONS.items():
        for operation in operations:
            method = camelcase_to_underscores(operation)
            xml = responses is CloudFormationResponse
            setattr(responses, method, _with_faults(operation, getattr(responses, method), xml))


# A stack's ARN, which names the stack: arn:aws:cloudformation:<region>:<account>:stack/<name>/<id>.
STACK_ARN = r"arn:aws[\w-]*:cloudformation:[\w-]+:\d{12}:stack/([A-Za-z][A-Za-z0-9-]{0,127})/[\w-]+"


class CognitoEmulator:
    """moto's server on 127.0.0.1 with the extension installed: Cognito for handlers in other processes."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        install()
        # werkzeug listens with a backlog of 128: a hundred Lambda processes connecting at once
        # overflowed it, and their connects timed out, which AWS's endpoints never make happen.
        serving.BaseWSGIServer.request_queue_size = 1024
        self._server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
        self.endpoint = ""

    def start(self) -> CognitoEmulator:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request is noise here
        self._server.start()
        host, port = self._server.get_host_and_port()
        # A server bound to every interface is reached here through loopback.
        self.endpoint = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"
        return self

    def stop(self) -> None:
        self._server.stop()

    def client(self, service: str = "cognito-idp") -> Any:
        """A client of this emulator, with moto's dummy credentials."""
        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def create_user_pool(self, name: str = "demo-pool", pool_id: str | None = None) -> str:
        """A new user pool; `pool_id` gives it a chosen id, such as the one an event names."""
        created = str(self.client().create_user_pool(PoolName=name)["UserPool"]["Id"])
        if pool_id is None:
            return created
        pools = cognitoidp_backends[DEFAULT_ACCOUNT_ID][REGION].user_pools
        pool = pools.pop(created)
        pool.id, pool.arn = pool_id, pool.arn.replace(created, pool_id)
        pools[pool_id] = pool
        return pool_id

    def create_stack(self, stack_id: str) -> None:
        """A stack in the emulator's CloudFormation under the id events carry, for the function to
        read. ValueError, saying so, when the id is not a stack's ARN, which names the stack."""
        backend = cloudformation_backends[DEFAULT_ACCOUNT_ID][REGION]
        if stack_id in backend.stacks:
            return
        arn = re.fullmatch(STACK_ARN, stack_id)
        if arn is None:
            raise ValueError(f"{stack_id[:80]!r} is not a CloudFormation stack ARN")
        stack = backend.stacks.pop(cloudformation.new_stack(arn.group(1)))
        stack.stack_id = stack_id
        backend.stacks[stack_id] = stack

    def create_tables(self) -> str:
        """The tables template.yaml gives the function: the ledger, and the answers table (its name)."""
        create_ledger_table(self.client("dynamodb"))
        return self.create_idempotency_table()

    def create_idempotency_table(self, name: str = IDEMPOTENCY_TABLE) -> str:
        """The DynamoDB table template.yaml gives the function for replaying answers; moto serves it too."""
        dynamodb = self.client("dynamodb")
        if name not in dynamodb.list_tables()["TableNames"]:  # moto's state outlives one emulator
            dynamodb.create_table(
                TableName=name,
                AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                BillingMode="PAY_PER_REQUEST",
            )
        return name

    def has_user_pool(self, pool_id: str) -> bool:
        return pool_id in cognitoidp_backends[DEFAULT_ACCOUNT_ID][REGION].user_pools

    def servers(self, user_pool_id: str) -> dict[str, dict[str, Any]]:
        """What Cognito holds in a pool, by Identifier."""
        listed = self.client().list_resource_servers(UserPoolId=user_pool_id, MaxResults=50)["ResourceServers"]
        return {server["Identifier"]: server for server in listed}


def ledger_table_definition() -> dict[str, Any]:
    """The ledger table as template.yaml declares it, so that the tests' table can't drift from it."""
    from cfnlint.decode import decode

    template, problems = decode(str(TEMPLATE))
    assert template is not None, problems
    properties = template["Resources"]["LedgerTable"]["Properties"]
    keys = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")
    return {key: properties[key] for key in keys}


def create_ledger_table(dynamodb: Any, name: str = LEDGER_TABLE) -> str:
    """The ledger table, in whatever DynamoDB `dynamodb` reaches (moto in process or its server)."""
    if name not in dynamodb.list_tables()["TableNames"]:  # moto's state outlives one test
        dynamodb.create_table(TableName=name, **ledger_table_definition())
    return name


def reinstall_provider() -> None:
    """The provider's stack deleted and made again: its answers table is new and empty; the ledger,
    retained, is named in ExistingLedgerTable."""
    dynamodb = boto3.client("dynamodb")
    dynamodb.delete_table(TableName=IDEMPOTENCY_TABLE)
    dynamodb.create_table(
        TableName=IDEMPOTENCY_TABLE,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )


@contextmanager
def running_emulator() -> Iterator[CognitoEmulator]:
    emulator = CognitoEmulator().start()
    try:
        yield emulator
    finally:
        emulator.stop()
