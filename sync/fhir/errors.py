"""Errors raised by the FHIR layer. Messages are plain sentences safe to show a patient: no PHI, no tokens."""

from __future__ import annotations

from ..errors import CarryError

__all__ = ["FHIRError", "FHIRFormatError"]


class FHIRError(CarryError):
    """Base of every error in sync.fhir."""

    code = "fhir.error"
    default_message = "The portal's answer is not FHIR Carry can use."


class FHIRFormatError(FHIRError):
    """The input is not FHIR JSON that Carry can take apart (broken JSON, no resourceType, unknown type, ...).

    A whole document is refused for this; a resource that is well-formed but fails validation is not an error
    (it is kept and flagged, see ParsedResource.error).
    """

    code = "fhir.format"
    default_message = "The input is not FHIR JSON that Carry can read."
