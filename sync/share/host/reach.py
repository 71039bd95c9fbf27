"""Who can open a link: a link on a loopback or private-network address, or over plain http, works only for
devices that reach this computer, and a clinic's scanner refuses it (the CMS "Kill the Clipboard" profile asks
receivers to fetch over HTTPS only and to block loopback, private, link-local and internal addresses)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

__all__ = ["LOCAL_ONLY", "REACH_APP_HINT", "REACH_CLI_HINT", "reach_warning"]

# One sentence for the app, the CLI and `carry serve`: no Markdown, since the app shows it as it is.
LOCAL_ONLY = (
    "Only devices that can reach this computer can open this link; a clinic's scanner will refuse it (HTTPS and a "
    "public address are required). To reach a doctor elsewhere, give Carry a share host they can reach, or hand "
    "over the PDF instead."
)
# How each medium says where a share host is given (the warning itself names no command: the app shows it too).
REACH_CLI_HINT = "A share host is given with: carry share settings --public-url https://…"
REACH_APP_HINT = "Under Settings, \"Where your links live\" gives Carry a share host."
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
