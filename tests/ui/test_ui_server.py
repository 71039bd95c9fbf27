"""The app server's guards and routes over real HTTP: Host and Origin checks, the OAuth callback hand-off,
attachment links, and the login required when serving beyond this computer."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.server import Receive, Scope, Send, ServerError, build_app, load_login, save_login, serve
from app.ui import AppContext
from support.serving import Running
from support.serving import free_port as _free_port


@pytest.fixture
def context(tmp_path: Path) -> AppContext:
    return AppContext(record_path=tmp_path / "record.carry", public_url="http://127.0.0.1:0")


@pytest.fixture
def running(context: AppContext) -> Iterator[Running]:
    port = _free_port()
    server = Running(build_app(context, port=port), port)
    yield server
    server.stop()


def _handshake(port: int, origin: str | None, host: str | None = None) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET /ws HTTP/1.1", f"Host: {host or f'127.0.0.1:{port}'}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]  # fmt: skip
        if origin:
            lines.append(f"Origin: {origin}")
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        return s.recv(200).decode(errors="replace").splitlines()[0]


def test_websocket_needs_this_origin(running: Running) -> None:
    port = running.port
    assert " 101 " in _handshake(port, f"http://127.0.0.1:{port}")
    assert " 101 " in _handshake(port, f"http://localhost:{port}", host=f"localhost:{port}")
    assert " 403 " in _handshake(port, "https://evil.example")
    assert " 403 " in _handshake(port, None)
    assert " 403 " in _handshake(port, f"http://127.0.0.1:{port + 1}")


def test_other_host_names_are_refused(running: Running) -> None:
    base = f"http://127.0.0.1:{running.port}"
    assert httpx.get(base + "/").status_code == 200
    rebinding = httpx.get(base + "/", headers={"Host": f"evil.example:{running.port}"})
    assert rebinding.status_code == 421


def test_state_changing_requests_need_this_origin(running: Running) -> None:
    base = f"http://127.0.0.1:{running.port}"
    assert httpx.post(base + "/login").status_code == 403
    assert httpx.post(base + "/login", headers={"Origin": "https://evil.example"}).status_code == 403


def test_oauth_callback_is_handed_to_the_waiting_session(running: Running, context: AppContext) -> None:
    base = f"http://127.0.0.1:{running.port}"
    received: list[dict[str, str]] = []

    async def handler(params: dict[str, str]) -> str:
        received.append(params)
        return "Connected to the test portal."

    context.callbacks.expect("abc123", handler)
    page = httpx.get(base + "/oauth/callback", params={"code": "xyz", "state": "abc123"})
    assert page.status_code == 200 and "You can close this tab" in page.text and "Connected to the test portal." in page.text
    assert received == [{"code": "xyz", "state": "abc123"}]
    again = httpx.get(base + "/oauth/callback", params={"code": "xyz", "state": "abc123"})  # single use
    assert again.status_code == 400 and "not one Carry is waiting for" in again.text
    assert httpx.get(base + "/oauth/callback").status_code == 400


def test_attachment_links_serve_bytes_from_memory_only(running: Running, context: AppContext) -> None:
    base = f"http://127.0.0.1:{running.port}"
    path = context.links.offer(b"%PDF-1.4 test", "application/pdf")
    got = httpx.get(base + path)
    assert got.status_code == 200 and got.content == b"%PDF-1.4 test"
    assert got.headers["content-type"] == "application/pdf" and got.headers["cache-control"] == "no-store"
    assert httpx.get(base + "/attachment/not-a-token").status_code == 404
    context.links.forget_all()
    assert httpx.get(base + path).status_code == 404


def test_serving_beyond_loopback_needs_a_login(tmp_path: Path, context: AppContext) -> None:
    with pytest.raises(ServerError, match="needs a login"):
        build_app(context, port=8550, loopback=False, login=None)
    with pytest.raises(ServerError, match="needs a login first"):
        serve("0.0.0.0", _free_port(), open_browser=False)
    with pytest.raises(ServerError, match="at least 10"):
        save_login("me", "short")


def test_login_page_gates_everything(tmp_path: Path, context: AppContext) -> None:
    path = save_login("parent", "a long home password", ("127.0.0.1",))
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert "a long home password" not in path.read_text()
    login = load_login()
    assert login is not None and login.check("parent", "a long home password") and not login.check("parent", "no")
    assert "password" not in repr(login)
    port = _free_port()
    server = Running(build_app(context, port=port, loopback=False, login=login), port)
    try:
        base = f"http://127.0.0.1:{port}"
        first = httpx.get(base + "/")
        assert first.status_code == 303 and first.headers["location"] == "/login"
        assert " 403 " in _handshake(port, f"http://127.0.0.1:{port}") or " 401 " in _handshake(port, f"http://127.0.0.1:{port}")
        origin = {"Origin": base}
        wrong = httpx.post(base + "/login", data={"username": "parent", "password": "guess"}, headers=origin)
        assert wrong.status_code == 401 and "do not match" in wrong.text
        good = httpx.post(base + "/login", data={"username": "parent", "password": "a long home password"}, headers=origin)
        assert good.status_code == 303
        cookie = good.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        jar = httpx.Cookies()
        name, _, value = cookie.split(";")[0].partition("=")
        jar.set(name, value)
        assert httpx.get(base + "/", cookies=jar).status_code == 200
        forged = httpx.Cookies()
        forged.set(name, value[:-2] + "00")
        assert httpx.get(base + "/", cookies=forged).status_code == 303
    finally:
        server.stop()


def test_callback_registry_expires_and_cancels() -> None:
    from app.ui import ConnectCallbacks

    callbacks = ConnectCallbacks()

    async def handler(params: dict[str, str]) -> str:
        return "ok"

    callbacks.expect("s1", handler)
    callbacks.cancel("s1")
    handled, message = asyncio.run(callbacks.deliver({"state": "s1"}))
    assert not handled and "start connecting again" in message


def test_share_mount_point_takes_cross_origin_requests(context: AppContext) -> None:
    async def share_app(scope: Scope, receive: Receive, send: Send) -> None:  # stands in for sync/share/host/routes.py
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": scope["path"].encode()})

    port = _free_port()
    server = Running(build_app(context, port=port, share_app=share_app), port)
    try:
        base = f"http://127.0.0.1:{port}"
        got = httpx.post(base + "/shl/manifest/abc", headers={"Origin": "https://viewer.example"})
        assert got.status_code == 200 and got.text.endswith("/manifest/abc")
        assert httpx.post(base + "/login", headers={"Origin": "https://viewer.example"}).status_code == 403
    finally:
        server.stop()
