"""SandboxServer: the sandbox portal as an ASGI app, and uvicorn running it on a background thread.

    with SandboxServer() as sandbox:          # the demo patients, on a free port of 127.0.0.1
        sandbox.base_url                      # http://127.0.0.1:54321/fhir
        sandbox.logins[0].username            # a portal login per patient
        sandbox.store.put({...})              # change the data between two syncs
        sandbox.faults.set("rate_limit", seconds=1, times=2)

The socket is bound before the thread starts, so the URL is known at once and `start()` returns only when the
server accepts connections.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from ..assets import DEMO_PATIENTS
from .clients import DEMO_CLIENT, ClientRegistration
from .errors import SandboxError
from .faults import Faults
from .grants import Grants
from .fhir_api import fhir_routes
from .oauth import oauth_routes
from .pages import message_page
from .state import FHIR_PATH, PortalState, fhir_base
from .store import Login, SandboxStore, make_logins

__all__ = ["SandboxServer", "build_app"]

_START_TIMEOUT = 10.0


def build_app(state: PortalState) -> Starlette:
    async def home(request: Request) -> Response:
        text = f"A SMART on FHIR portal with synthetic patients. FHIR base URL: {fhir_base(request)}"
        return HTMLResponse(message_page("Carry Demo Hospital", text))

    routes = [Route("/", home, methods=["GET"]), *oauth_routes(state), *fhir_routes(state)]
    return Starlette(routes=routes)


class SandboxServer:
    def __init__(
        self,
        data: Sequence[Path | str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        access_token_lifetime: int = 3600,
        clients: Sequence[ClientRegistration] = (),
        show_logins: bool = True,
        code_lifetime: float = 60.0,
        latency: float = 0.0,
        registration: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`clock` (monotonic seconds) decides when codes and access tokens expire; tests advance one of their own."""
        self.store = SandboxStore()
        self.store.load([Path(p) for p in data] if data else [DEMO_PATIENTS])
        self.logins: list[Login] = make_logins(self.store.patients())
        self.faults = Faults()
        registered = {DEMO_CLIENT.client_id: DEMO_CLIENT}
        for client in clients:
            registered[client.client_id] = client
        self._state = PortalState(
            store=self.store,
            logins=self.logins,
            clients=registered,
            faults=self.faults,
            access_token_lifetime=access_token_lifetime,
            show_logins=show_logins,
            code_lifetime=code_lifetime,
            latency=latency,
            registration=registration,
            grants=Grants(clock),
        )
        self.app: ASGIApp = build_app(self._state)
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    def __repr__(self) -> str:
        where = self.base_url if self._socket is not None else "not started"
        return f"SandboxServer({where}, {len(self.logins)} patients)"

    @property
    def demo_client_id(self) -> str:
        return DEMO_CLIENT.client_id

    @property
    def clients(self) -> list[ClientRegistration]:
        return list(self._state.clients.values())

    def register(self, client: ClientRegistration) -> None:
        """Register (or replace) a client while the portal runs, as a vendor's developer site would."""
        self._state.clients[client.client_id] = client

    @property
    def origin(self) -> str:
        if self._socket is None and self.port == 0:
            raise SandboxError("The sandbox has not been started, so it has no address yet.")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        return self.origin + FHIR_PATH

    def start(self) -> SandboxServer:
        if self._thread is not None:
            raise SandboxError("The sandbox is already running.")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise SandboxError(f"Cannot listen on {self.host}:{self.port}: {exc.strerror}.") from exc
        sock.listen(128)
        sock.set_inheritable(True)
        self.port = sock.getsockname()[1]
        self._socket = sock
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="carry-sandbox", daemon=True)
        self._server, self._thread = server, thread
        thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise SandboxError("The sandbox portal did not start.")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = None
        self._socket = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
