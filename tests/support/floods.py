"""Oversized requests for the attack tests (issue 13): a POST body of hundreds of megabytes sent over a raw socket
until the server answers, and this process's resident memory, to show the server never held the body."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["rss_kib", "send_until_answered"]


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")


def send_until_answered(url: str, headers: str, total: int, *, give_up: float = 60) -> tuple[bytes, int]:
    """POST `total` bytes to `url` (chunked when `headers` says so), stopping as soon as the server answers:
    (the answer's head, the bytes of body sent). `headers` are extra header lines, each ending in CRLF."""
    parts = urlsplit(url)
    chunk = b"[" * 65536
    chunked = "chunked" in headers.lower()
    sent = 0
    deadline = time.monotonic() + give_up
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n{headers}\r\n".encode())
        sock.setblocking(False)
        answer = b""
        while sent < total and time.monotonic() < deadline:
            try:
                answer += sock.recv(65536)
            except BlockingIOError:
                pass
            if answer:
                break
            piece = (b"%x\r\n" % len(chunk) + chunk + b"\r\n") if chunked else chunk
            try:
                sock.send(piece)
            except BlockingIOError:
                time.sleep(0.001)
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        sock.settimeout(10)
        while b"\r\n\r\n" not in answer:
            more = sock.recv(65536)
            if not more:
                break
            answer += more
    return answer, sent
