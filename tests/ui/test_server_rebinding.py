"""DNS rebinding and cross-site variants against the app server on 127.0.0.1 over real HTTP: Host names that only
look local are refused (421) on pages and on the WebSocket, and Origins that only look like this server's are
refused (403) on the WebSocket and on state-changing requests. Browsers send exactly these when a hostile page
rebinds its name to 127.0.0.1 or embeds a look-alike origin."""

from __future__ import annotations

import base64
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.server import build_app
from app.ui import AppContext
from support.serving import Running, free_port

HOSTS = ["evil.example:{port}", "127.0.0.1.evil.example:{port}", "localhost.evil.example:{port}",
         "127.attacker.example:{port}", "127.0.0.1:{port}.evil.example", "EVIL.example", "localhost@evil.example:{port}",
         "xn--80ak6aa92e.example:{port}", ""]  # fmt: skip
ORIGINS = ["null", "http://127.0.0.1.evil.example:{port}", "http://localhost.evil.example:{port}",
           "http://localhost:{port}", "http://127.0.0.1:{port}.evil.example", "http://127.0.0.1",
           "http://127.0.0.1:{other}", "file://", "http://[::ffff:7f00:1]:{port}.evil.example"]  # fmt: skip


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    context = AppContext(record_path=tmp_path_factory.mktemp("r") / "record.carry", public_url="http://127.0.0.1:0")
    port = free_port()
    server = Running(build_app(context, port=port), port)
    yield server
    server.stop()


def _raw(port: int, request_lines: list[str]) -> str:
    """The status line the server answers a hand-written request with (httpx would correct the Host header)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(("\r\n".join(request_lines) + "\r\n\r\n").encode())
        return s.recv(200).decode(errors="replace").splitlines()[0]


def _websocket(port: int, host: str, origin: str) -> list[str]:
    key = base64.b64encode(os.urandom(16)).decode()
    return [f"GET /ws HTTP/1.1", f"Host: {host}", "Upgrade: websocket", "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13", f"Origin: {origin}"]  # fmt: skip


def test_this_servers_own_names_are_served(running: Running) -> None:
    port = running.port
    assert " 200 " in _raw(port, ["GET / HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"])
    assert " 101 " in _raw(port, _websocket(port, f"127.0.0.1:{port}", f"http://127.0.0.1:{port}"))


@pytest.mark.parametrize("host", HOSTS)
def test_a_host_name_that_only_looks_local_is_refused(running: Running, host: str) -> None:
    port = running.port
    named = host.format(port=port)
    assert " 421 " in _raw(port, ["GET / HTTP/1.1", f"Host: {named}", "Connection: close"])
    assert " 200 " not in _raw(port, ["GET /ws HTTP/1.1", f"Host: {named}", "Connection: close"])
    assert " 101 " not in _raw(port, _websocket(port, named, f"http://{named}"))


@pytest.mark.parametrize("origin", ORIGINS)
def test_an_origin_that_only_looks_like_this_server_is_refused(running: Running, origin: str) -> None:
    port = running.port
    named = origin.format(port=port, other=port + 1)
    assert " 403 " in _raw(port, _websocket(port, f"127.0.0.1:{port}", named))
    login = httpx.post(f"http://127.0.0.1:{port}/login", headers={"Origin": named}, timeout=10)
    assert login.status_code == 403
