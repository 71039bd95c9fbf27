"""`carry host`: the share host on its own, for a home server or a small cloud machine behind TLS.

It serves the /shl routes and the doctor's viewer (sync/share/host/routes.py), a publish API for the Carry apps of the
devices its owner allowed (`api`), and a health endpoint (`server`). Its store is SQLite or PostgreSQL
(`postgres`); `client` is the app's side of the publish API, a store that lives on another machine.
"""

from __future__ import annotations

from .client import RemoteHostStore
from .devices import credential_hash, device_name, new_credential
from .api import PublishLimits
from .server import host_app, open_host_store, run_host

__all__ = [
    "PublishLimits",
    "RemoteHostStore",
    "credential_hash",
    "device_name",
    "host_app",
    "new_credential",
    "open_host_store",
    "run_host",
]
