"""Helpers shared by the tests (a scripted browser for the sandbox portal, fixtures' building blocks)."""
