"""What Settings hands the patient to keep: an export of their records (FHIR Bundle or NDJSON, not encrypted) and
an encrypted backup, each as bytes with a file name for a download through Carry's own server."""

from __future__ import annotations

import io
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from app.record import Person, Record, person_clause
from app.record.backup import BackupReport, make_backup

__all__ = ["EXPORT_FORMATS", "EXPORT_WARNING", "Download", "backup_download", "export_download"]

EXPORT_FORMATS = {"bundle": "FHIR Bundle (one JSON file)", "ndjson": "NDJSON (one record per line)"}
EXPORT_WARNING = ("An export is not encrypted: anyone who can open the file can read your records. Keep it somewhere "
                  "only you can read, and delete it when you are done.")  # fmt: skip


@dataclass(frozen=True)
class Download:
    data: bytes
    file_name: str
    content_type: str
    sentence: str


def export_download(record: Record, fmt: str, person: Person | None = None) -> Download:
    """Every record (of `person`, when the record holds several people) in `fmt` ("bundle" or "ndjson")."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(fmt)
    where, params = person_clause(record, person) if person is not None else ("", ())
    out = io.BytesIO()
    count = record.export(out, where=where, params=params, ndjson=fmt == "ndjson")
    stamp = date.today().isoformat()
    if fmt == "ndjson":
        name, kind = f"carry-export-{stamp}.ndjson", "application/fhir+ndjson"
    else:
        name, kind = f"carry-export-{stamp}.json", "application/fhir+json"
    whose = f" of {person.name}" if person is not None else ""
    return Download(out.getvalue(), name, kind, f"The export{whose} is ready: {count:,} records. {EXPORT_WARNING}")


def backup_download(record: Record, passphrase: str) -> tuple[Download, BackupReport]:
    """An encrypted backup of the record that opens with `passphrase` (which must open the record), checked. It is
    written in a folder only this user can open, read back, and the folder deleted."""
    folder = Path(tempfile.mkdtemp(prefix="carry-backup-"))
    try:
        name = f"carry-backup-{date.today().isoformat()}.carry"
        report = make_backup(record, folder / name, passphrase)
        data = (folder / name).read_bytes()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    sentence = (f"Your backup is ready: {report.resources:,} records from {report.sources} source"
                f"{'s' if report.sources != 1 else ''}, opened with your passphrase to check it. Keep it somewhere "
                "other than this device; it opens only with this passphrase.")  # fmt: skip
    return Download(data, name, "application/octet-stream", sentence), report
