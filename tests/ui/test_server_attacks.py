"""Issue 13 against the app server over real HTTP (uvicorn on 127.0.0.1): the login's attempt limits with scrypt
off the event loop (finding 4), the Host allow-list beyond loopback (finding 4), /login bodies refused while they
stream (finding 5), and security headers, no API docs, no blanket CORS, a random login cookie and a logout
(finding 9)."""

from __future__ import annotations

import socket
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.server import LoginConfig, Receive, Scope, Send, build_app, load_login, save_login, started_addresses
from app.ui import AppContext
from support.floods import rss_kib, send_until_answered
from support.serving import Running, free_port

PASSWORD = "a long home password"


async def _share_stand_in(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"access-control-allow-origin", b"*")]})  # fmt: skip
    await send({"type": "http.response.body", "body": b"{}"})


@pytest.fixture
def login() -> LoginConfig:
    save_login("parent", PASSWORD)  # no allowed_hosts: the addresses it was started on are the default
    found = load_login()
    assert found is not None
    return found


@pytest.fixture
def guarded(tmp_path: Path, login: LoginConfig) -> Iterator[Running]:
    context = AppContext(record_path=tmp_path / "record.carry", public_url="http://127.0.0.1:0")
    port = free_port()
    served = Running(build_app(context, port=port, loopback=False, login=login, share_app=_share_stand_in,
                                addresses=("127.0.0.1",)), port)  # fmt: skip
    yield served
    served.stop()


def _post_login(base: str, password: str, source: str = "127.0.0.1") -> httpx.Response:
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(transport=transport, timeout=60) as client:
        return client.post(base + "/login", data={"username": "parent", "password": password},
                           headers={"Origin": base})  # fmt: skip


def _logged_in(base: str) -> httpx.Cookies:
    good = _post_login(base, PASSWORD)
    assert good.status_code == 303, good.text
    jar = httpx.Cookies()
    name, _, value = good.headers["set-cookie"].split(";")[0].partition("=")
    jar.set(name, value)
    return jar


def _parallel(count: int, call: object) -> list[httpx.Response]:
    results: list[httpx.Response] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        response = call(i)  # type: ignore[operator]
        with lock:
            results.append(response)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_a_login_flood_from_one_client_is_limited(guarded: Running) -> None:
    flood = _parallel(40, lambda i: _post_login(guarded.base, f"guess {i}"))
    codes = [r.status_code for r in flood]
    assert codes.count(401) == 5 and codes.count(429) == 35  # five tries, then the client waits
    limited = next(r for r in flood if r.status_code == 429)
    assert int(limited.headers["retry-after"]) >= 1 and "Too many tries" in limited.text
    # Meanwhile the right password waits too: a guesser cannot tell it from a wrong one.
    assert _post_login(guarded.base, PASSWORD).status_code == 429
    # Another client is not held back by this one.
    assert _post_login(guarded.base, PASSWORD, source="127.0.0.2").status_code == 303


def test_a_login_flood_from_many_clients_is_limited_and_the_server_stays_fast(guarded: Running) -> None:
    latencies: list[float] = []
    stop = threading.Event()

    def probe() -> None:
        with httpx.Client(timeout=30) as client:
            while not stop.is_set():
                started = time.perf_counter()
                assert client.get(guarded.base + "/login").status_code == 200
                latencies.append(time.perf_counter() - started)
                time.sleep(0.02)

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        flood = _parallel(40, lambda i: _post_login(guarded.base, f"guess {i}", source=f"127.0.0.{10 + i}"))
    finally:
        stop.set()
        prober.join()
    codes = [r.status_code for r in flood]
    assert codes.count(401) == 30 and codes.count(429) == 10  # the server-wide limit, whichever address sends
    # The hashing ran on worker threads: pages kept coming while 30 passwords were hashed.
    assert len(latencies) >= 5 and statistics.median(latencies) < 0.25, latencies


def test_any_host_name_is_refused_beyond_loopback(guarded: Running) -> None:
    port = guarded.base.rsplit(":", 1)[1]
    for host in ("attacker.example", f"attacker.example:{port}", f"10.1.2.3:{port}"):
        response = httpx.get(guarded.base + "/login", headers={"Host": host})
        assert response.status_code == 421 and "addresses it was started on" in response.text
    assert httpx.get(guarded.base + "/login").status_code == 200
    assert started_addresses("192.168.1.5") == ("192.168.1.5",)
    assert socket.gethostname() in started_addresses("0.0.0.0")


def test_a_300_mb_login_body_is_refused_at_16_kib(guarded: Running) -> None:
    total = 300 * 1024 * 1024
    before = rss_kib()
    for headers in (f"Origin: {guarded.base}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                    f"Content-Length: {total}\r\n",
                    f"Origin: {guarded.base}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                    "Transfer-Encoding: chunked\r\n"):  # fmt: skip
        answer, sent = send_until_answered(guarded.base + "/login", headers, total)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert sent < 16 * 1024 * 1024
    assert rss_kib() - before < 64 * 1024


def test_the_login_form_is_parsed_as_starlette_parses_forms_within_the_same_limit(guarded: Running) -> None:
    with httpx.Client(base_url=guarded.base, headers={"Origin": guarded.base}, timeout=60) as client:
        as_multipart = client.post("/login", files={"username": (None, "parent"), "password": (None, PASSWORD)})
        assert as_multipart.status_code == 303  # the same form sent as multipart/form-data logs in too
        with_a_file = client.post("/login", files={"username": ("name.txt", b"parent"), "password": (None, PASSWORD)})
        assert with_a_file.status_code == 400  # no files are taken
    multipart = f"Origin: {guarded.base}\r\nContent-Type: multipart/form-data; boundary=b\r\nTransfer-Encoding: chunked\r\n"
    answer, sent = send_until_answered(guarded.base + "/login", multipart, 300 * 1024 * 1024)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 16 * 1024 * 1024


def test_security_headers_everywhere_no_docs_no_blanket_cors(guarded: Running) -> None:
    jar = _logged_in(guarded.base)
    with httpx.Client(base_url=guarded.base, cookies=jar, timeout=30) as client:
        answers = {
            "/": client.get("/"),
            "/flutter_bootstrap.js": client.get("/flutter_bootstrap.js"),
            "/login": client.get("/login"),
            "/attachment/nothing": client.get("/attachment/nothing"),
            "/shl/x": client.post("/shl/x", headers={"Origin": "https://viewer.example"}),
            "421": client.get("/", headers={"Host": "attacker.example"}),
            "/docs": client.get("/docs"),
            "/openapi.json": client.get("/openapi.json"),
        }
    assert answers["/"].status_code == 200 and answers["/flutter_bootstrap.js"].status_code == 200
    for name, response in answers.items():
        csp = response.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in csp, name
        assert response.headers.get("x-content-type-options") == "nosniff", name
        assert response.headers.get("referrer-policy") == "same-origin", name
        assert response.headers.get("x-frame-options") == "DENY", name
    for name in ("/", "/flutter_bootstrap.js", "/login"):
        assert "access-control-allow-origin" not in answers[name].headers, name
    assert answers["/shl/x"].headers["access-control-allow-origin"] == "*"  # the share host is cross-origin
    assert "openapi" not in answers["/docs"].text.lower() and answers["/openapi.json"].status_code != 200
    assert "swagger" not in answers["/docs"].text.lower()


def test_login_cookies_are_random_and_logout_ends_them(guarded: Running) -> None:
    first, second = _logged_in(guarded.base), _logged_in(guarded.base)
    assert first.get("carry_login") != second.get("carry_login")
    with httpx.Client(base_url=guarded.base, cookies=first, timeout=30) as client:
        assert client.get("/").status_code == 200
        assert "Log out" in client.get("/logout").text
        assert client.post("/logout").status_code == 403  # a cross-site page cannot log the patient out
        out = client.post("/logout", headers={"Origin": guarded.base})
        assert out.status_code == 303 and out.headers["location"] == "/login"
        assert "Max-Age=0" in out.headers["set-cookie"]
    # The ended cookie is refused from now on, though its signature is good; the other login stays.
    assert httpx.get(guarded.base + "/", cookies=first).status_code == 303
    assert httpx.get(guarded.base + "/", cookies=second).status_code == 200
