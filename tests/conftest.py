"""Fixtures shared by every test package."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync.assets import DEMO_PATIENTS


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # No test may touch the developer's real record or config.
    monkeypatch.setenv("CARRY_RECORD", str(tmp_path / "default-record.carry"))
    monkeypatch.setenv("CARRY_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("CARRY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("CARRY_DATA_DIR", str(tmp_path / "data"))  # the share host's store
    monkeypatch.delenv("CARRY_SHARE_PUBLIC_URL", raising=False)
    monkeypatch.delenv("CARRY_SHARE_VIEWER_URL", raising=False)
    monkeypatch.delenv("CARRY_SHARE_PASSCODE", raising=False)
    monkeypatch.delenv("CARRY_PASSPHRASE", raising=False)
    monkeypatch.delenv("CARRY_NEW_PASSPHRASE", raising=False)


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    return DEMO_PATIENTS
