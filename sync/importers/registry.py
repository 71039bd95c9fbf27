"""Which importer takes a file: the first that recognises its content. FHIR JSON is not here: the record itself
imports it (`Record.import_file`), and takes every file no importer recognises."""

from __future__ import annotations

from pathlib import Path

from .apple_health import AppleHealthImporter
from .base import HEAD_BYTES, Importer
from .ccda import CCDAImporter
from .documents import DocumentFileImporter
from .health_cards import HealthCardImporter

__all__ = ["IMPORTERS", "recognise"]

IMPORTERS: tuple[Importer, ...] = (HealthCardImporter(), AppleHealthImporter(), CCDAImporter(), DocumentFileImporter())


def recognise(path: Path) -> Importer | None:
    """The importer for this file, or None (also when it cannot be opened: the record's own import says why)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(HEAD_BYTES)
    except OSError:
        return None
    return next((importer for importer in IMPORTERS if importer.recognises(head, path)), None)
