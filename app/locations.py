"""Where Carry keeps things on this device: the record, and the per-user config directory."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

__all__ = ["config_dir", "data_dir", "default_record_path", "record_path"]

_APP = "carry"


def default_record_path() -> Path:
    """record.carry in the data directory, so $CARRY_DATA_DIR moves the record with the rest of Carry's data."""
    return data_dir() / "record.carry"


def record_path(explicit: str | None = None) -> Path:
    """--record PATH, else $CARRY_RECORD, else record.carry in the data directory."""
    chosen = explicit or os.environ.get("CARRY_RECORD")
    return Path(chosen).expanduser() if chosen else default_record_path()


def config_dir() -> Path:
    """Per-user configuration (client registrations per vendor, server settings): $CARRY_CONFIG_DIR or the platform's."""
    chosen = os.environ.get("CARRY_CONFIG_DIR")
    return Path(chosen).expanduser() if chosen else Path(platformdirs.user_config_dir(_APP, appauthor=False))


def data_dir() -> Path:
    """Per-user data (the record, the share host's ciphertext store): $CARRY_DATA_DIR or the platform's user data
    directory."""
    chosen = os.environ.get("CARRY_DATA_DIR")
    return Path(chosen).expanduser() if chosen else Path(platformdirs.user_data_dir(_APP, appauthor=False))


def share_host_path() -> Path:
    """The share host's store (ciphertext only); it exists once something has been shared from this machine."""
    return data_dir() / "share-host.sqlite"
