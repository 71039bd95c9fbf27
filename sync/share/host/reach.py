"""Who can open a link: a link on a loopback or private-network address, or over plain http, works only for
devices that reach this computer, and a clinic's scanner refuses it (the CMS "Kill the Clipboard" profile asks
receivers to fetch over HTTPS only and to block loopback, private, link-local and internal addresses)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

__all__ = ["LOCAL_ONLY", "reach_warning"]

# One sentence for the app, the CLI and `carry serve`: no Markdown, since the app shows it as it is.
LOCAL_ONLY = (
    "Only devices that can reach this computer can open this link; a clinic's scanner will refuse it (HTTPS and a "
    "public address are required). To reach a doctor elsewhere, give Carry a share host they can reach (in a "
    "terminal: carry share settings --public-url https://…), or hand over the PDF instead."
)
_INTERNAL_SUFFIXES = (".local", ".localhost", ".internal", ".lan", ".home", ".home.arpa", ".localdomain")


def reach_warning(url: str) -> str | None:
    """LOCAL_ONLY when `url` (a link's address) cannot be opened from the internet, else None. Names are judged
    as written (no DNS lookup: Carry makes no request to find out)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme != "https" or not host or "." not in host and ":" not in host:
        return LOCAL_ONLY
    if host == "localhost" or host.endswith(_INTERNAL_SUFFIXES):
        return LOCAL_ONLY
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    return None if address.is_global else LOCAL_ONLY
