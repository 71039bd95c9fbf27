"""`carry host`: the share host alone. Routes: `/shl/…` (the links and the viewer, exactly as inside `carry serve`),
`/api/…` (the publish API of the devices the owner allowed) and `/healthz`; nothing else of Carry.

It drops expired file addresses and the ciphertext of dead links on a schedule, and logs each request as method,
path and status only, with every id in a path cut to a short prefix: no recipients, no payloads, no query strings.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from ...errors import ShareHostError
from ..routes import share_app
from ..store import PublishStore, SQLiteShareHostStore
from .api import HEADERS, PublishLimits, publish_routes

__all__ = ["DEFAULT_PURGE_EVERY", "host_app", "open_host_store", "run_host"]

DEFAULT_PURGE_EVERY = 600.0  # seconds between purges of expired addresses and dead links' ciphertext
_log = logging.getLogger("carry.host")
_LONG_SEGMENT = re.compile(r"[^/]{9,}")


def logged_path(path: str) -> str:
    """The path with every segment longer than 8 characters (a link id, a file token) cut to 6 and an ellipsis."""
    return _LONG_SEGMENT.sub(lambda m: m[0][:6] + "…", path)


class _PrivateLog:
    """One log line per request: method, path (ids cut short), status and time; never the query or the body."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status = [500]

        async def noting(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noting)
        finally:
            _log.info("%s %s %d %.0fms", scope["method"], logged_path(scope["path"]), status[0],
                      (time.monotonic() - started) * 1000)  # fmt: skip


def open_host_store(database: str | None, data_dir: Path) -> PublishStore:
    """SQLite (`host.sqlite` in the data directory, or `sqlite:///PATH`) or PostgreSQL (`postgresql://…`)."""
    if database is None or not database.strip():
        return SQLiteShareHostStore(data_dir / "host.sqlite")
    if database.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresShareHostStore  # psycopg only for a host that uses it

        return PostgresShareHostStore(database)
    if database.startswith("sqlite:///"):
        return SQLiteShareHostStore(Path(database.removeprefix("sqlite://")))
    raise ShareHostError("--database takes postgresql://… or sqlite:///PATH.")


def host_app(
    store: PublishStore,
    public_url: str,
    *,
    limits: PublishLimits = PublishLimits(),
    purge_every: float = DEFAULT_PURGE_EVERY,
    clock: Callable[[], float] = time.time,
) -> Starlette:
    """The standalone host: links at `<public_url>/shl/…`, the publish API at /api, health at /healthz."""

    async def health(request: Request) -> JSONResponse:
        try:
            await run_in_threadpool(store.link, "health-check")
        except ShareHostError:
            return JSONResponse({"status": "storage unavailable"}, status_code=503, headers=HEADERS)
        return JSONResponse({"status": "ok"}, headers=HEADERS)

    async def purging() -> None:
        while True:
            try:
                removed = await run_in_threadpool(store.purge, clock())
                if removed:
                    _log.info("purged %d expired addresses and files", removed)
            except ShareHostError:
                _log.warning("the scheduled purge failed; it runs again later")
            await asyncio.sleep(purge_every)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(purging())
        try:
            yield
        finally:
            task.cancel()

    app = Starlette(
        routes=[
            Route("/healthz", health, methods=["GET"]),
            Mount("/api", routes=publish_routes(store, limits, clock)),
            Mount("/shl", app=share_app(store, public_base=public_url.rstrip("/") + "/shl", clock=clock)),
        ],
        lifespan=lifespan,
    )
    app.add_middleware(_PrivateLog)
    return app


def run_host(
    store: PublishStore,
    host: str,
    port: int,
    public_url: str,
    *,
    limits: PublishLimits = PublishLimits(),
    purge_every: float = DEFAULT_PURGE_EVERY,
) -> None:
    import uvicorn

    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(message)s")
    app = host_app(store, public_url, limits=limits, purge_every=purge_every)
    print(f"Carry host is running on {host}:{port}; links point at {public_url.rstrip('/')}/shl  "
          "(press Ctrl+C to stop)", flush=True)  # fmt: skip
    # uvicorn's own access log would print whole link ids and query strings (recipients): ours replaces it.
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning", proxy_headers=True)
