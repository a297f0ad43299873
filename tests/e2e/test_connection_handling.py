"""How the real server (uvicorn over TCP, in this process: tests/faults.py) treats the
connection when things go wrong, spoken to with raw sockets:

- a 500 says `Connection: close` before uvicorn closes the socket, so a keep-alive client
  opens a new connection instead of writing its next request into a closed one;
- a client that hangs up halfway through its body is a client abort: one request log line
  with status 499, counted as `status="499"`, no traceback, nothing stored.

The store does not matter here: SQLite only.
"""

from __future__ import annotations

import http.client
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from service_layer.bootstrap import Services, bootstrap
from tests.conftest import settings_for
from tests.faults import serve_in_process
from tests.support import API_KEY, ledger_size

LEAD = "8b0d3d9a-8c4e-4f0a-9c7e-2b9a4c1e0f11"


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    built = bootstrap(settings_for(f"sqlite:///{tmp_path}/ledger.db", tmp_path))
    yield built
    built.close()


@pytest.fixture
def address(services: Services) -> Iterator[tuple[str, int]]:
    with serve_in_process(services) as url:
        parts = urlsplit(url)
        assert parts.hostname is not None
        assert parts.port is not None
        yield parts.hostname, parts.port


def exchange(sock: socket.socket, request: bytes) -> http.client.HTTPResponse:
    """Send one request on an open connection; its answer, read whole."""
    sock.sendall(request)
    answer = http.client.HTTPResponse(sock)
    answer.begin()
    answer.read()
    return answer


def get(path: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {API_KEY}\r\n\r\n"
    ).encode()


def test_a_500_says_connection_close_and_the_next_request_gets_through(
    services: Services, address: tuple[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(services.service, "lead_events", broken)
    with socket.create_connection(address, timeout=10) as sock:
        assert exchange(sock, get("/healthz")).status == 200  # kept alive: same socket
        answer = exchange(sock, get(f"/leads/{LEAD}/events"))
        assert answer.status == 500
        assert answer.getheader("connection") == "close"
        assert sock.recv(1) == b""  # and the server did close it
    # A keep-alive client that honours the header reconnects for its next request.
    client = http.client.HTTPConnection(*address, timeout=10)
    try:
        for path, status in ((f"/leads/{LEAD}/events", 500), ("/healthz", 200)):
            client.request("GET", path, headers={"Authorization": f"Bearer {API_KEY}"})
            response = client.getresponse()
            response.read()
            assert response.status == status
    finally:
        client.close()


def test_a_client_hanging_up_mid_body_is_a_499_not_a_500(
    services: Services, address: tuple[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    before = ledger_size(services)
    head = (
        "POST /sarah/state HTTP/1.1\r\nHost: test\r\n"
        f"Authorization: Bearer {API_KEY}\r\nContent-Type: application/json\r\n"
        "Content-Length: 6000\r\n\r\n"
    ).encode()
    with caplog.at_level(logging.INFO):
        with socket.create_connection(address, timeout=10) as sock:
            sock.sendall(head + b'{"contact_phone": "+6281377774001", "state": "' + b"x" * 3000)
        samples = _wait_for_metric(address, 'method="POST",route="/sarah/state"')
        assert samples == ['method="POST",route="/sarah/state",status="499"} 1.0']
    logged = [r for r in caplog.records if r.name.startswith(("leadledger", "uvicorn"))]
    assert not [r for r in logged if r.exc_info or r.levelno >= logging.ERROR], [
        r.getMessage() for r in logged
    ]
    requests = [r for r in logged if r.name == "leadledger.requests"]
    assert [getattr(r, "status", None) for r in requests if _route(r) == "/sarah/state"] == [499]
    assert ledger_size(services) == before


def _route(record: logging.LogRecord) -> Any:
    return record.__dict__.get("route")


def _wait_for_metric(address: tuple[str, int], labels: str) -> list[str]:
    """The request counter's samples with these labels, once there is one (the server
    notices the hang-up asynchronously)."""
    deadline = time.monotonic() + 10
    while True:
        client = http.client.HTTPConnection(*address, timeout=10)
        try:
            client.request("GET", "/metrics")
            text = client.getresponse().read().decode()
        finally:
            client.close()
        samples = [
            line.split("{", 1)[1]
            for line in text.splitlines()
            if line.startswith("leadledger_requests_total{") and labels in line
        ]
        if samples or time.monotonic() > deadline:
            return samples
        time.sleep(0.05)
