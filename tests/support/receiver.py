"""A local HTTPS receiver standing in for CloudFormation's pre-signed ResponseURL.

It serves on 127.0.0.1 with a throwaway certificate; a handler process trusts it
through SSL_CERT_FILE, as it would trust S3. It records every PUT and can refuse
answers on cue, to test delivery retries.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered
    arrived: float  # time.time() when the body was read

    @property
    def answer(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


def _throwaway_certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "receiver.pem", directory / "receiver.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


class Receiver:
    """Start with `with Receiver() as receiver:`; `receiver.host` goes into ResponseURLs."""

    def __init__(self) -> None:
        self._directory = tempfile.TemporaryDirectory(prefix="receiver-")
        self.cert_file, key_file = _throwaway_certificate(Path(self._directory.name))
        self.deliveries: list[Delivery] = []
        self._refusals: list[int] = []
        self._always: int | None = None
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                arrived = time.time()
                status = receiver._next_status()
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()
                with receiver._changed:
                    receiver.deliveries.append(Delivery(self.path, dict(self.headers), body, status, arrived))
                    receiver._changed.notify_all()

            def log_message(self, *_args: object) -> None:  # keep test output quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, key_file)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.host = f"127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._directory.cleanup()

    def refuse_next(self, *statuses: int) -> None:
        """Answer the next PUTs with these HTTP statuses, then accept again."""
        self._refusals.extend(statuses)

    def refuse_always(self, status: int | None) -> None:
        self._always = status

    def _next_status(self) -> int:
        if self._always is not None:
            return self._always
        return self._refusals.pop(0) if self._refusals else 200

    def deliveries_for(self, request_id: str) -> list[Delivery]:
        return [d for d in self.deliveries if request_id in d.path]

    def answer_for(self, request_id: str, timeout_s: float = 30.0) -> dict[str, Any]:
        """The accepted answer to one request, waiting for it to arrive."""
        answer = self._accepted(lambda d: request_id in d.path, timeout_s)
        if answer is None:
            raise TimeoutError(f"no answer for request {request_id} within {timeout_s} s")
        return answer

    def only_answer(self, timeout_s: float = 30.0) -> dict[str, Any] | None:
        """The accepted answer of a receiver that serves one request, whatever path its URL has
        (a hand-made one may not name the request); None when none arrives in time."""
        return self._accepted(lambda _delivery: True, timeout_s)

    def _accepted(self, matches: Callable[[Delivery], bool], timeout_s: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while True:
                accepted = [d for d in self.deliveries if matches(d) and d.status == 200]
                if accepted:
                    return accepted[-1].answer
                if not self._changed.wait(timeout=max(0.0, deadline - time.monotonic())):
                    return None
