"""Cognito as the tests and `make demo` see it: moto, plus the two calls moto lacks.

Why this exists: moto 5.2.5 implements CreateResourceServer and DescribeResourceServer
but not UpdateResourceServer or DeleteResourceServer. This is the one place that adds
them, following the Cognito API reference:

- UpdateResourceServer replaces Name and the whole scope set; scopes left out are gone.
- Identifier and UserPoolId can't change: they only address the server.
- A missing user pool or server is ResourceNotFoundException, for Update and Delete alike.
- A pool holds at most 25 resource servers (the default quota): LimitExceededException.

`install()` patches moto in this process, for `mock_aws` and for `CognitoEmulator`, the
moto server on 127.0.0.1 that end-to-end tests and the demo run handlers against.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from moto.cognitoidp.exceptions import ResourceNotFoundError
from moto.cognitoidp.models import CognitoIdpBackend, CognitoResourceServer, cognitoidp_backends
from moto.cognitoidp.responses import CognitoIdpResponse
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult, EmptyResult
from moto.server import ThreadedMotoServer

REGION = "us-east-1"
SERVERS_PER_POOL = 25  # Cognito's default quota, adjustable to 300


class LimitExceededError(JsonRESTError):
    def __init__(self, message: str) -> None:
        super().__init__("LimitExceededException", message)


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


def _with_pool_quota(create: Callable[..., CognitoResourceServer]) -> Callable[..., CognitoResourceServer]:
    @functools.wraps(create)
    def create_resource_server(
        self: CognitoIdpBackend, user_pool_id: str, identifier: str, *args: Any
    ) -> CognitoResourceServer:
        pool = self.describe_user_pool(user_pool_id)
        if identifier not in pool.resource_servers and len(pool.resource_servers) >= SERVERS_PER_POOL:
            raise LimitExceededError(f"Max number of resource servers ({SERVERS_PER_POOL}) reached for user pool.")
        return create(self, user_pool_id, identifier, *args)

    create_resource_server.with_pool_quota = True  # type: ignore[attr-defined]
    return create_resource_server


def _respond_update(self: CognitoIdpResponse) -> ActionResult:
    server = self.backend.update_resource_server(  # type: ignore[attr-defined]
        self._get_param("UserPoolId"), self._get_param("Identifier"), self._get_param("Name"), self._get_param("Scopes")
    )
    return ActionResult({"ResourceServer": server.to_json()})


def _respond_delete(self: CognitoIdpResponse) -> ActionResult:
    self.backend.delete_resource_server(self._get_param("UserPoolId"), self._get_param("Identifier"))  # type: ignore[attr-defined]
    return EmptyResult()


def install() -> None:
    """Teach moto UpdateResourceServer, DeleteResourceServer and the pool quota. Safe to call again."""
    backend: Any = CognitoIdpBackend
    response: Any = CognitoIdpResponse
    backend.update_resource_server = update_resource_server
    backend.delete_resource_server = delete_resource_server
    if not getattr(backend.create_resource_server, "with_pool_quota", False):
        backend.create_resource_server = _with_pool_quota(backend.create_resource_server)
    response.update_resource_server = _respond_update
    response.delete_resource_server = _respond_delete


class CognitoEmulator:
    """moto's server on 127.0.0.1 with the extension installed: Cognito for handlers in other processes."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        install()
        self._server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
        self.endpoint = ""

    def start(self) -> CognitoEmulator:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request is noise here
        self._server.start()
        _host, port = self._server.get_host_and_port()
        self.endpoint = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        self._server.stop()

    def client(self) -> Any:
        return boto3.client(
            "cognito-idp",
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

    def has_user_pool(self, pool_id: str) -> bool:
        return pool_id in cognitoidp_backends[DEFAULT_ACCOUNT_ID][REGION].user_pools

    def servers(self, user_pool_id: str) -> dict[str, dict[str, Any]]:
        """What Cognito holds in a pool, by Identifier."""
        listed = self.client().list_resource_servers(UserPoolId=user_pool_id, MaxResults=50)["ResourceServers"]
        return {server["Identifier"]: server for server in listed}


@contextmanager
def running_emulator() -> Iterator[CognitoEmulator]:
    emulator = CognitoEmulator().start()
    try:
        yield emulator
    finally:
        emulator.stop()


def main() -> None:
    """`make emulator`: the extended moto server in the foreground, for `sam local invoke` and `make invoke`."""
    import argparse
    import threading

    from tests.support.events import EXAMPLE_POOL

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="0.0.0.0 lets a Docker container reach it")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()
    emulator = CognitoEmulator(args.host, args.port).start()
    emulator.create_user_pool("example", pool_id=EXAMPLE_POOL)
    print(
        f"Cognito emulator on http://{args.host}:{args.port}, holding user pool {EXAMPLE_POOL}, the one events/ names."
    )
    print("Ctrl-C stops it.")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        emulator.stop()


if __name__ == "__main__":
    main()
