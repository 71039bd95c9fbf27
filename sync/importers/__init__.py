"""Importers of what clinics and devices hand a patient besides FHIR JSON: SMART Health Cards, Apple Health
exports, C-CDA documents, PDFs and photos, each recognised by content and turned into FHIR resources, streamed
(see base.py for the seam)."""

from __future__ import annotations

from .base import HEAD_BYTES, ImportContext, Importer, KeyCache, parsed, stable_id
from .documents import DocumentFileImporter, Proposal, check_date, proposed
from .errors import ImportFailed
from .registry import IMPORTERS, recognise

__all__ = [
    "DocumentFileImporter",
    "Proposal",
    "check_date",
    "proposed",
    "HEAD_BYTES",
    "IMPORTERS",
    "ImportContext",
    "ImportFailed",
    "Importer",
    "KeyCache",
    "parsed",
    "recognise",
    "stable_id",
]
