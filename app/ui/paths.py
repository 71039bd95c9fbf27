"""Where each screen lives: the sections of the navigation and the addresses of items and results.

A screen is reached by its path, so every screen can be linked to, reloaded and left with the browser's Back:
    /                      the summary            /item/<type>/<id>[/<source>]   one item's details
    /timeline /results /documents /search /share /people /sources /settings
    /results/<key>         one result's values over time (key: see result_path)
    /add[/<kind>]          the patient adds a reading, symptom, note, medicine or allergy
    /edit/<type>/<id>      the patient changes one of their own entries
    /connect               find a provider and connect     /connect/demo   the demo hospital and its logins
    /share/open            open a link someone else shared
    /entries/deleted       the patient's deleted entries, with their history and Restore
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

import flet as ft

__all__ = [
    "CONNECT",
    "CONNECT_DEMO",
    "DELETED_ENTRIES",
    "SECTIONS",
    "SHARE_OPEN",
    "Section",
    "add_path",
    "edit_path",
    "item_path",
    "result_key",
    "result_parts",
    "result_path",
    "section_of",
]

CONNECT = "/connect"
CONNECT_DEMO = "/connect/demo"
SHARE_OPEN = "/share/open"  # open a link someone else shared
DELETED_ENTRIES = "/entries/deleted"  # the patient's deleted entries, each with its history and Restore


@dataclass(frozen=True)
class Section:
    key: str
    path: str
    label: str
    icon: Any
    selected_icon: Any
    on_phone_bar: bool


SECTIONS = (
    Section("summary", "/", "Summary", ft.Icons.DASHBOARD_OUTLINED, ft.Icons.DASHBOARD, True),
    Section("timeline", "/timeline", "Timeline", ft.Icons.TIMELINE_OUTLINED, ft.Icons.TIMELINE, True),
    Section("results", "/results", "Results", ft.Icons.SHOW_CHART_OUTLINED, ft.Icons.SHOW_CHART, True),
    Section("documents", "/documents", "Documents", ft.Icons.DESCRIPTION_OUTLINED, ft.Icons.DESCRIPTION, True),
    Section("search", "/search", "Search", ft.Icons.SEARCH_OUTLINED, ft.Icons.SEARCH, True),
    Section("share", "/share", "Share", ft.Icons.SHARE_OUTLINED, ft.Icons.SHARE, True),
    Section("people", "/people", "Whose record", ft.Icons.PEOPLE_OUTLINE, ft.Icons.PEOPLE, False),
    Section("sources", "/sources", "Sources", ft.Icons.SYNC_OUTLINED, ft.Icons.SYNC, False),
    Section("settings", "/settings", "Settings", ft.Icons.SETTINGS_OUTLINED, ft.Icons.SETTINGS, False),
)


def section_of(path: str) -> Section | None:
    """The section a path belongs to (its first segment), or None for an item's page."""
    first = "/" + path.strip("/").split("/", 1)[0] if path.strip("/") else "/"
    return next((s for s in SECTIONS if s.path == first), None)


def item_path(resource_type: str, resource_id: str, source_id: int | None = None) -> str:
    tail = f"/{int(source_id)}" if source_id is not None else ""
    return f"/item/{quote(resource_type, safe='')}/{quote(resource_id, safe='')}{tail}"


def result_key(*parts: str | int | None) -> str:
    """One result's identity (system, code, source, …) as one path segment."""
    # "~" separates the parts: one inside a part (quote leaves it as it is) is written %7E.
    return "~".join(quote("" if p is None else str(p), safe="").replace("~", "%7E") for p in parts)


def result_parts(key: str) -> list[str]:
    return [unquote(p) for p in key.split("~")]


def result_path(key: str) -> str:
    return f"/results/{key}"


def add_path(kind: str | None = None) -> str:
    return f"/add/{quote(kind, safe='')}" if kind else "/add"


def edit_path(resource_type: str, resource_id: str) -> str:
    return f"/edit/{quote(resource_type, safe='')}/{quote(resource_id, safe='')}"
