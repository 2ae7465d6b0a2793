"""`make emulator`: the Cognito emulator (tests/support/emulator.py) in the foreground, holding the
user pool the events name and the tables template.yaml deploys, for `make invoke`, `sam local
invoke` and `make local-invoke`.

It checks that it can listen before it imports moto, which takes seconds: a port that is taken,
or a host that is not this machine's, stops it at once, with one line.
"""

from __future__ import annotations

import argparse
import errno
import socket
import sys
import threading


def can_listen(host: str, port: int) -> str | None:
    """Why the emulator could not listen on host:port, in one line; None when it can."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.bind((host, port))
    except socket.gaierror:
        return f"no such host {host!r} to listen on: give HOST an address of this machine, such as 127.0.0.1"
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            held = " (on macOS, AirPlay Receiver holds 5000)" if port == 5000 else ""
            return f"port {port} on {host} is already in use{held}: run make emulator PORT=5001, or another free port"
        return f"can't listen on {host}:{port} ({error.strerror}): give HOST an address of this machine"
    return None


def port(text: str) -> int:
    """A TCP port, 1 to 65535: argparse turns ValueError into one line of usage, not a traceback."""
    number = int(text)
    if not 0 < number < 65536:
        raise ValueError(text)
    return number


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="Docker's bridge (172.17.0.1) lets containers reach it")
    parser.add_argument("--port", type=port, default=5000)
    args = parser.parse_args()
    if problem := can_listen(args.host, args.port):
        print(f"make emulator: {problem}", file=sys.stderr)
        return 2

    from tests.support.emulator import IDEMPOTENCY_TABLE, LEDGER_TABLE, CognitoEmulator
    from tests.support.events import EXAMPLE_POOL

    emulator = CognitoEmulator(args.host, args.port).start()
    emulator.create_user_pool("example", pool_id=EXAMPLE_POOL)
    emulator.create_tables()
    print(
        f"Cognito emulator on http://{args.host}:{args.port}, holding user pool {EXAMPLE_POOL}, the one events/ names,"
        f" and the tables {LEDGER_TABLE} and {IDEMPOTENCY_TABLE}.",
        flush=True,
    )
    print("Its state lives in memory and lasts until it stops: a server the events made stays made. Send")
    print("events/delete-replaced.json and events/delete.json to clean up after update-replace.json, or")
    print("stop it with Ctrl-C and start it again to begin afresh.", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
