"""Normalised vendor keys, the names the vendor quirk table (assets/vendor-quirks.json) is keyed by."""

from __future__ import annotations

from urllib.parse import urlsplit

from .text import fold

__all__ = ["VENDOR_KEYS", "VENDOR_NAMES", "guess_vendor_key", "vendor_key"]

VENDOR_KEYS: tuple[str, ...] = (
    "epic",
    "oracle-health",
    "athenahealth",
    "meditech",
    "eclinicalworks",
    "nextgen",
    "veradigm",
    "greenway",
    "practice-fusion",
    "altera",
    "sandbox",
    "other",
)

# How to show a vendor when a list does not name it.
VENDOR_NAMES: dict[str, str] = {
    "epic": "Epic",
    "oracle-health": "Oracle Health",
    "athenahealth": "athenahealth",
    "meditech": "MEDITECH",
    "eclinicalworks": "eClinicalWorks",
    "nextgen": "NextGen Healthcare",
    "veradigm": "Veradigm",
    "greenway": "Greenway Health",
    "practice-fusion": "Practice Fusion",
    "altera": "Altera Digital Health",
    "sandbox": "Sandbox",
    "other": "",
}

# Folded words that name a vendor, checked in order. Allscripts' hospital products (Sunrise, Paragon, TouchWorks)
# went to Altera Digital Health; open.allscripts.com/fhirendpoints is Altera's list, so "allscripts" means Altera.
_NAMES: tuple[tuple[str, str], ...] = (
    ("epic", "epic"),
    ("cerner", "oracle-health"),
    ("oracle", "oracle-health"),
    ("athenahealth", "athenahealth"),
    ("athena", "athenahealth"),
    ("meditech", "meditech"),
    ("medical information technology", "meditech"),
    ("eclinicalworks", "eclinicalworks"),
    ("nextgen", "nextgen"),
    ("veradigm", "veradigm"),
    ("greenway", "greenway"),
    ("practice fusion", "practice-fusion"),
    ("practicefusion", "practice-fusion"),
    ("altera", "altera"),
    ("allscripts", "altera"),
    ("sandbox", "sandbox"),
    ("smart health it", "sandbox"),
)

# Hosts whose vendor is unambiguous. fhirpoint.open.allscripts.com is Veradigm's (the ambulatory products), so it
# comes before the plain allscripts.com rule.
_HOSTS: tuple[tuple[str, str], ...] = (
    (".cerner.com", "oracle-health"),
    (".athenahealth.com", "athenahealth"),
    (".eclinicalworks.com", "eclinicalworks"),
    (".greenwayhealth.com", "greenway"),
    (".nextgen.com", "nextgen"),
    (".practicefusion.com", "practice-fusion"),
    (".patientfusion.com", "practice-fusion"),
    (".fhirpoint.open.allscripts.com", "veradigm"),
    (".veradigm.com", "veradigm"),
    (".allscripts.com", "altera"),
    (".meditech.com", "meditech"),
    (".meditech.cloud", "meditech"),
    (".epic.com", "epic"),
    (".epichosted.com", "epic"),
    (".smarthealthit.org", "sandbox"),
)


def vendor_key(name: str) -> str:
    """ "Epic Systems Corporation" -> "epic", "Cerner Corporation" -> "oracle-health"; unknown -> "other"."""
    folded = f" {fold(name)} "
    if folded.strip() in VENDOR_KEYS:
        return folded.strip()
    if folded.replace(" ", "-").strip("-") in VENDOR_KEYS:
        return folded.replace(" ", "-").strip("-")
    for words, key in _NAMES:
        if f" {words} " in folded:  # whole words: "Epicure Dental" is not Epic
            return key
    return "other"


def guess_vendor_key(url: str) -> str:
    """The vendor of a FHIR base from its address alone, where the address says so; else "other"."""
    parts = urlsplit(url.strip())
    host = "." + (parts.hostname or "")
    for suffix, key in _HOSTS:
        if host.endswith(suffix):
            return key
    path = parts.path.lower()
    if "/api/fhir/r4" in path or "/api/fhir/dstu2" in path:
        return "epic"  # Epic's base path, on customers' own hosts
    if host.startswith(".mtrestapis") or "/v2/uscore/" in path or "/v2/argonaut/" in path:
        return "meditech"
    return "other"
