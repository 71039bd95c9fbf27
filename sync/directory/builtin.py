"""Entries that are always in the directory, whatever lists are shipped or downloaded: the two sandboxes."""

from __future__ import annotations

from .provider import Provider

__all__ = ["DEFAULT_SANDBOX_BASE", "PUBLIC_SMART_SANDBOX", "SANDBOX_NAME", "sandbox_provider"]

SANDBOX_NAME = "Carry demo hospital (sandbox)"
# The sandbox's default address when started with `carry sandbox`; an in-process sandbox knows its own port and
# passes its base to sandbox_provider() instead.
DEFAULT_SANDBOX_BASE = "http://127.0.0.1:8551/fhir"

PUBLIC_SMART_SANDBOX = Provider(
    name="SMART Health IT public sandbox",
    fhir_base="https://launch.smarthealthit.org/v/r4/fhir",
    vendor="SMART Health IT",
    vendor_key="sandbox",
    aliases=("SMART launcher", "sandbox", "demo", "test"),
    source="built-in",
    note="a public test server with synthetic patients; no account needed",
)


def sandbox_provider(base_url: str = DEFAULT_SANDBOX_BASE, note: str = "") -> Provider:
    """Carry's own demo portal at `base_url`."""
    return Provider(
        name=SANDBOX_NAME,
        fhir_base=base_url,
        vendor="Carry sandbox",
        vendor_key="sandbox",
        aliases=("demo", "test", "Carry"),
        source="built-in",
        note=note,
    )
