"""An ASGI app served by uvicorn on 127.0.0.1 in a thread, for tests that need the real app server over HTTP."""

from __future__ import annotations

import socket
import threading
import time

__all__ = ["Running", "free_port"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Running:
    """`app` on 127.0.0.1:`port` until `stop()` (the test that starts it stops it)."""

    def __init__(self, app: object, port: int) -> None:
        import uvicorn

        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))  # type: ignore[arg-type]
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
