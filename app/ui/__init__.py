"""The Carry app (Flet, declarative): one code path for the web UI and the desktop window (both started by
app.server).

    make_main(context)   the Flet entry point for one session (one browser tab or one window)

Dependencies point one way: this module → root (the router and its routes) → screens (components) →
hooks, state, session, paths, widgets → app.views. No screen imports another screen's module or the root.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import flet as ft

from .context import AppContext, AttachmentLinks, ConnectCallbacks, DemoHospital

__all__ = ["AppContext", "AttachmentLinks", "ConnectCallbacks", "DemoHospital", "make_main"]


def make_main(context: AppContext) -> Callable[[ft.Page], Awaitable[None]]:
    from .root import Root

    async def main(page: ft.Page) -> None:
        try:
            page.render(Root, context)
        except Exception:
            logging.getLogger("carry.ui").exception("the app could not start")
            raise

    return main
