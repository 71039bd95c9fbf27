"""Fixtures for share tests: the demo patient's resources, an IPS built from them, and the share host served
over real HTTP (uvicorn on 127.0.0.1, a free port, started and stopped per test) with a clock the test moves."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from share_helpers import Clock, Demo, Host
from starlette.applications import Starlette
from starlette.routing import Mount

from sync.assets import DEMO_PATIENTS
from sync.fhir import parse_document
from sync.share import SQLiteShareHostStore, build_ips, new_access_keypair, share_app


@pytest.fixture(scope="session")
def demo() -> Demo:
    path = next(DEMO_PATIENTS.glob("Elvina_Lemke_*.json"))
    parsed = parse_document(path.read_bytes())
    by_type: dict[str, list[dict[str, Any]]] = {}
    for resource in parsed.resources:
        by_type.setdefault(resource.resource_type, []).append(resource.data)
    return Demo(by_type["Patient"][0], by_type)


@pytest.fixture
def ips(demo: Demo) -> dict[str, Any]:
    return build_ips(demo.patient, demo.sections(), supporting=demo.supporting())


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # runs in a thread: leave the test runner's signals alone
        pass


@pytest.fixture
def host(tmp_path: Path) -> Iterator[Host]:
    store_path = tmp_path / "host" / "share-host.sqlite"
    store = SQLiteShareHostStore(store_path)
    clock = Clock(time.time())
    holder: dict[str, str] = {}

    def app_factory() -> Starlette:
        return Starlette(routes=[Mount("/shl", share_app(store, public_base=holder["base"], clock=clock))])

    config = uvicorn.Config(_Late(holder, app_factory), host="127.0.0.1", port=0, log_level="warning",
                            lifespan="off")
    server = _Server(config)

    def run() -> None:
        asyncio.run(server.serve())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the share host did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    holder["base"] = f"http://127.0.0.1:{port}/shl"
    private_jwk, public_jwk = new_access_keypair()
    try:
        yield Host(holder["base"], store, store_path, clock, private_jwk, public_jwk)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class _Late:
    """The ASGI app, built on first request: its public base needs the port, known only once uvicorn listens."""

    def __init__(self, holder: dict[str, str], factory: Any) -> None:
        self.holder = holder
        self.factory = factory
        self.app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.app is None:
            self.app = self.factory()
        await self.app(scope, receive, send)
