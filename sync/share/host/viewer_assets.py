"""The doctor-facing SMART Health Link viewer's files (static HTML, CSS and JavaScript in sync/share/host/viewer/, shipped
as package data) and the headers they are served with.

The page decrypts in the reader's browser; the headers keep it to this host's own scripts and styles, let it fetch
only the link's own address (another app's host too, when that host allows cross-origin requests), and keep the
address, whose fragment holds the key, out of any Referer.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

__all__ = ["VIEWER_FILES", "VIEWER_HEADERS", "viewer_file"]

# name -> media type; nothing else is served from the package.
VIEWER_FILES = {
    "index.html": "text/html; charset=utf-8",
    "viewer.js": "text/javascript; charset=utf-8",
    "viewer.css": "text/css; charset=utf-8",
}
VIEWER_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "connect-src 'self' https: http://127.0.0.1:* http://localhost:*; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


@cache
def viewer_file(name: str) -> bytes:
    """The bytes of one of the viewer's files (KeyError for any other name)."""
    if name not in VIEWER_FILES:
        raise KeyError(name)
    return (resources.files("sync.share.host") / "viewer" / name).read_bytes()
