"""Sharing a patient-picked summary: the IPS document, SMART Health Links (payload, encryption, hosting,
receiving), the QR code and the PDF.

The patient's side builds with `build_ips`, publishes with `publish` into a `ShareHostStore`, which `share_app`
serves; a doctor's Carry (or any SHL viewer) opens the link; `open_link` is Carry's own receiver.

In four parts, re-exported here: codec/ (the SHL wire format: shl, jose, passcode, shc, receive), summary/ (what a
share holds: ips, ktc, describe, collection, provenance, selection, writeback), render/ (pdf, qr) and host/ (the
SHL host server: routes, store, viewer, reach; hosting/ for `carry host`). errors.py serves them all.
"""

from __future__ import annotations

from .codec.jose import new_access_keypair
from .codec.receive import ReceivedFile, ReceivedShare, open_link
from .codec.shc import health_card_bundles
from .codec.shl import (
    SHLinkPayload,
    check_manifest_url,
    decode_link,
    decrypt,
    encode_link,
    encrypt,
    manifest,
    manifest_file,
    new_key,
    new_link_id,
    new_payload,
)
from .errors import (
    DecryptionFailed,
    IPSError,
    LinkError,
    LinkInactive,
    PasscodeRefused,
    QuotaExceeded,
    ShareError,
    ShareHostError,
)
from .host.reach import LOCAL_ONLY, REACH_APP_HINT, REACH_CLI_HINT, reach_warning
from .host.routes import DEFAULT_ATTEMPTS, LOCATION_LIFETIME, MAX_REQUEST_BODY, PublishedLink, publish, share_app, update_files
from .host.store import (
    AccessRecord,
    DeviceQuota,
    DeviceUsage,
    HostedFile,
    HostedLink,
    PublishStore,
    ShareHostStore,
    SQLShareHostStore,
    SQLiteShareHostStore,
    open_access,
    seal_access,
)
from .render.pdf import rendered_pdf, summary_pdf
from .render.qr import qr_matrix, qr_png, qr_svg
from .summary.collection import collection_rows, summary_rows
from .summary.describe import Row, concept_text, describe, patient_name
from .summary.ips import EMPTY_REASONS, SECTIONS, Section, build_ips, check_ips, section_rows
from .summary.ktc import FHIR_RENDERED_PDF, build_ktc, check_ktc
from .summary.selection import DEFAULT_SECTIONS, default_selection
from .summary.story import PATAST, PATIENT_STORY, PatientNote, note_document
from .summary.writeback import (
    READINGS,
    VITAL_SIGNS,
    VitalSign,
    accepts,
    blood_pressure,
    patient_note,
    reading,
    scope_allows_create,
    summary_document,
    vital_sign,
)

__all__ = [
    "PATAST",
    "PATIENT_STORY",
    "PatientNote",
    "note_document",
    "patient_note",
    "DEFAULT_ATTEMPTS",
    "DEFAULT_SECTIONS",
    "EMPTY_REASONS",
    "FHIR_RENDERED_PDF",
    "LOCAL_ONLY",
    "REACH_APP_HINT",
    "REACH_CLI_HINT",
    "LOCATION_LIFETIME",
    "MAX_REQUEST_BODY",
    "SECTIONS",
    "AccessRecord",
    "DeviceQuota",
    "DeviceUsage",
    "DecryptionFailed",
    "HostedFile",
    "HostedLink",
    "IPSError",
    "LinkError",
    "LinkInactive",
    "PasscodeRefused",
    "PublishStore",
    "QuotaExceeded",
    "PublishedLink",
    "ReceivedFile",
    "ReceivedShare",
    "Row",
    "SHLinkPayload",
    "SQLShareHostStore",
    "SQLiteShareHostStore",
    "Section",
    "ShareError",
    "ShareHostError",
    "ShareHostStore",
    "build_ips",
    "build_ktc",
    "check_ips",
    "check_ktc",
    "collection_rows",
    "check_manifest_url",
    "concept_text",
    "decode_link",
    "decrypt",
    "default_selection",
    "describe",
    "encode_link",
    "encrypt",
    "health_card_bundles",
    "manifest",
    "manifest_file",
    "new_access_keypair",
    "new_key",
    "new_link_id",
    "new_payload",
    "open_access",
    "open_link",
    "patient_name",
    "publish",
    "qr_matrix",
    "reach_warning",
    "qr_png",
    "qr_svg",
    "rendered_pdf",
    "section_rows",
    "seal_access",
    "share_app",
    "summary_pdf",
    "summary_rows",
    "update_files",
    "READINGS",
    "VITAL_SIGNS",
    "blood_pressure",
    "reading",
    "VitalSign",
    "accepts",
    "scope_allows_create",
    "summary_document",
    "vital_sign",
]
