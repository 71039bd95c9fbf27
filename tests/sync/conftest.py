"""Fixtures of the sync tests; they live in sync_support.py with the helpers the tests import by name."""

from sync_support import sandbox, _clean_faults, record  # noqa: F401 - fixtures
