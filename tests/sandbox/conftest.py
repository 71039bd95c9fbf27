"""Fixtures of the sandbox tests; they live in sandbox_support.py with the helpers the tests import by name."""

from sandbox_support import sandbox, app, http, faults, elvina_file  # noqa: F401 - fixtures
