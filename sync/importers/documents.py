"""PDFs and photos of letters, results and discharge papers, as DocumentReferences the patient titles and dates.

Recognised by content (`%PDF-`, the PNG signature, the JPEG start-of-image marker), never by name. The bytes are
kept whole as the attachment, inside the encrypted record; the title, date and person are the patient's word
(`ImportContext.title` / `.date`; the person as for any file that names no patient). What Carry proposes to them
comes from `proposed()`: the file's name as the title, and the date the PDF's metadata or the photo's EXIF states.

Checked before anything is stored: a PDF must be whole (it ends with its cross-reference pointer and `%%EOF`, which a
download cut short lacks), an image must decode completely (Pillow, imported here only). HEIC photos are recognised
and refused with a sentence: no HEIC decoder is installed with Carry.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date as Date
from pathlib import Path
from typing import Any

from ..fhir.attachment import inline_attachment
from ..fhir.parse import ParsedResource
from .base import ImportContext, parsed, read_whole, stable_id
from .errors import ImportFailed

__all__ = ["DocumentFileImporter", "Proposal", "check_date", "proposed"]

_MAX_BYTES = 50 * 1024 * 1024  # a scanned letter is a few MB; a phone photo 2-12 MB
_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"
_HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_PDF_DATE = re.compile(rb"/CreationDate\s*\(D:(\d{4})(\d{2})(\d{2})")
_XMP_DATE = re.compile(rb"<xmp:CreateDate>(\d{4})-(\d{2})-(\d{2})")
_TITLE_LIMIT = 200
_US_CORE_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"
PATIENT_SUPPLIED = {"system": "http://hl7.org/fhir/us/core/CodeSystem/us-core-tags", "code": "patient-supplied",
                    "display": "Patient supplied"}  # fmt: skip


@dataclass(frozen=True)
class Proposal:
    """What Carry proposes for a file before the patient confirms it."""

    content_type: str  # "application/pdf", "image/png", "image/jpeg"
    title: str
    date: str | None  # YYYY-MM-DD when the file states it


def _kind(head: bytes) -> str | None:
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(_PNG):
        return "image/png"
    if head.startswith(_JPEG):
        return "image/jpeg"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIC_BRANDS:
        return "image/heic"
    return None


def _title_from(path: Path) -> str:
    words = re.sub(r"[_\s]+", " ", path.stem).strip(" .-")
    return (words or "Document")[:_TITLE_LIMIT]


def check_date(text: str) -> str:
    """A date the patient gave, as YYYY-MM-DD; a sentence when it is not one."""
    value = text.strip()
    try:
        parsed_date = Date.fromisoformat(value)
    except ValueError:
        raise ImportFailed(f"{value!r} is not a date; give it as YYYY-MM-DD, e.g. 2024-03-18.") from None
    if len(value) != 10 or parsed_date > Date.today() or parsed_date.year < 1900:
        raise ImportFailed(f"{value!r} is not a date Carry can file a document under (YYYY-MM-DD, not in the future).")
    return value


def _valid_day(year: bytes | str, month: bytes | str, day: bytes | str) -> str | None:
    try:
        return Date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return None


def _pdf_date(data: bytes) -> str | None:
    found = _PDF_DATE.search(data) or _XMP_DATE.search(data)
    return _valid_day(*found.groups()) if found else None


def _check_pdf(data: bytes) -> None:
    tail = data[-2048:]
    if b"%%EOF" not in tail or b"startxref" not in tail:
        raise ImportFailed("It is not a complete PDF: its end is missing (it may have been cut short while "
                           "downloading).")  # fmt: skip


def _image(data: bytes) -> Any:
    """The decoded image (so a truncated or corrupt one is refused before anything is stored)."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImportFailed(
            f"It is not a complete image: it cannot be read to the end ({type(exc).__name__})."
        ) from None
    return image


def _exif_date(image: Any) -> str | None:
    try:
        exif = image.getexif()
        stamp = exif.get_ifd(0x8769).get(36867) or exif.get(306)  # DateTimeOriginal, else DateTime
    except (AttributeError, KeyError, ValueError, OSError):
        return None
    match = re.match(r"(\d{4}):(\d{2}):(\d{2})", stamp) if isinstance(stamp, str) else None
    return _valid_day(*match.groups()) if match else None


def _checked(data: bytes, kind: str | None) -> str | None:
    """Refuse what cannot be kept; the date the file states, if any."""
    if kind == "image/heic":
        raise ImportFailed("It is a HEIC photo, which Carry cannot read; save it as JPEG or PNG (on an iPhone: "
                           "Settings > Camera > Formats > Most Compatible) and import that.")  # fmt: skip
    if kind == "application/pdf":
        _check_pdf(data)
        return _pdf_date(data)
    if kind in ("image/png", "image/jpeg"):
        return _exif_date(_image(data))
    raise ImportFailed("It is not a PDF, PNG or JPEG file.")


def proposed(path: Path, name: str | None = None) -> Proposal:
    """What Carry proposes to the patient for this file: a title from its name (`name`, when the file was uploaded
    under another), the date it states. Refuses (ImportFailed) a file it would refuse to import, so the patient
    hears it before confirming anything."""
    data = read_whole(path, _MAX_BYTES, "It is larger than any document Carry accepts (50 MB).")
    kind = _kind(data[:16])
    day = _checked(data, kind)
    return Proposal(kind or "", _title_from(Path(name) if name else path), day)


def document_reference(data: bytes, content_type: str, title: str, day: str | None) -> dict[str, Any]:
    """The DocumentReference that keeps the file: its bytes as the attachment, the patient's title and date. The id
    comes from the bytes, so bringing the same file in again adds nothing."""
    digest = hashlib.sha256(data).hexdigest()
    resource: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "id": stable_id("document", digest),
        "meta": {"tag": [PATIENT_SUPPLIED]},
        "status": "current",
        "type": {"text": "Document brought in by the patient"},
        "category": [{"coding": [{"system": _US_CORE_CATEGORY, "code": "clinical-note", "display": "Clinical Note"}]}],
        "description": title,
        "content": [{"attachment": inline_attachment(data, content_type, title, day)}],
    }  # fmt: skip
    if day:
        resource["context"] = {"period": {"start": day}}
    return resource


class DocumentFileImporter:
    kind = "PDF or image"

    def recognises(self, head: bytes, path: Path) -> bool:
        return _kind(head) is not None

    def resources(self, path: Path, context: ImportContext) -> Iterator[ParsedResource]:
        data = read_whole(path, _MAX_BYTES, "It is larger than any document Carry accepts (50 MB).")
        kind = _kind(data[:16])
        stated = _checked(data, kind)
        title = " ".join((context.title or "").split())[:_TITLE_LIMIT] or _title_from(path)
        day = check_date(context.date) if context.date else stated
        if context.date is None and stated is None:
            context.notes.append("It states no date; it is filed without one (give one with --date YYYY-MM-DD).")
        return iter([parsed(document_reference(data, kind or "", title, day))])
