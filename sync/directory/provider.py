"""One place a patient can connect to: a provider (or payer) name and the FHIR base that serves its patients."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .places import Place
from .text import fold

__all__ = ["Provider", "base_key"]


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    fhir_base: str  # exactly as the list gives it: servers compare `aud` with it character by character
    vendor: str = ""  # as the list names it, e.g. "Epic Systems Corporation"
    vendor_key: str = "other"  # see vendors.VENDOR_KEYS
    places: tuple[Place, ...] = ()
    aliases: tuple[str, ...] = ()
    source: str = ""  # which list it came from
    note: str = ""  # shown beside it, e.g. how to start the local sandbox

    @property
    def place(self) -> Place:
        return self.places[0] if self.places else Place()

    @property
    def city(self) -> str:
        return self.place.city

    @property
    def state(self) -> str:
        return self.place.state

    @property
    def zip(self) -> str:
        return self.place.zip

    def key(self) -> tuple[str, str]:
        """Two entries with the same key are the same entry (see Directory: they are merged)."""
        return fold(self.name), base_key(self.fhir_base)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "city": self.city,
            "state": self.state,
            "zip": self.zip,
            "vendor": self.vendor,
            "vendor_key": self.vendor_key,
            "fhir_base": self.fhir_base,
            "aliases": list(self.aliases),
            "locations": [{"city": p.city, "state": p.state, "zip": p.zip} for p in self.places],
            "source": self.source,
            "note": self.note,
        }


def base_key(url: str) -> str:
    """The FHIR base compared loosely: scheme and host lower-cased, default port and trailing slash dropped.

    Plain string work rather than urlsplit: it runs for every entry each time the directory loads.
    """
    text = url.strip()
    scheme, sep, rest = text.partition("://")
    if not sep:
        return text.rstrip("/")
    scheme = scheme.lower()
    host, slash, path = rest.partition("/")
    host = host.lower()
    if (scheme == "https" and host.endswith(":443")) or (scheme == "http" and host.endswith(":80")):
        host = host.rpartition(":")[0]
    return f"{scheme}://{host}{slash}{path}".rstrip("/")
