"""How a resource's JSON is kept in the record: compressed, in a BLOB that starts with a format byte.

The JSON (compact, keys in the order received) is deflated with a preset dictionary of what FHIR resources
repeat (keys, code systems, profile URLs; written here by us, most frequent last, where deflate reaches them
cheapest), which is what makes even a 500-byte Observation small. The first byte says how the rest is written, so
the format can change without rewriting old rows: FORMAT_DEFLATE_1 is raw deflate with DICTIONARY_1;
FORMAT_DEFLATE_2 (from schema 20) is the same, without the JSON's head `{"resourceType":"<type>","id":"<id>",`,
which the row's own `type` and `id` columns already hold (a resource's id is the one part of it no dictionary can
guess): the head is written back from them when it is read. A JSON that does not start with exactly that head (keys
in another order, spaces) is kept whole, as FORMAT_DEFLATE_1.

`unpack` is the one reader: every read of `resource.raw` goes through it, in Python or, inside SQL, through the
function `resource_json(raw, type, id)` that app.record.store registers on every connection (so `json_extract` and
`json_each` keep working on the stored column: `json_extract(resource_json(r.raw, r.type, r.id), '$.x')`).
"""

from __future__ import annotations

import json
import re
import threading
import zlib
from collections import OrderedDict

__all__ = [
    "DICTIONARY_1", "FORMAT_DEFLATE_1", "FORMAT_DEFLATE_2", "SQL_FUNCTION", "forget_unpacked", "kept_inflated", "pack",
    "unpack",
]  # fmt: skip

FORMAT_DEFLATE_1 = 1
FORMAT_DEFLATE_2 = 2
SQL_FUNCTION = "resource_json"

_WBITS = -15  # raw deflate: no zlib header or checksum (the record's pages carry an HMAC already)
_LEVEL = 6

# Fragments of compact FHIR R4 JSON, least common first. Changing this breaks every row written with it: a new
# dictionary needs a new format byte (and this one kept for reading).
_FRAGMENTS = (
    # Claims and explanations of benefit
    '"resourceType":"ExplanationOfBenefit","id":"',
    '"resourceType":"Claim","id":"',
    '"use":"claim","patient":{"reference":"Patient/',
    '"billablePeriod":{"start":"',
    '"priority":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/processpriority","code":"normal"}]}',
    '"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/claim-type","code":"institutional"}]}',
    '"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/claim-type","code":"professional"}]}',
    '"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/claim-type","code":"pharmacy"}]}',
    '"insurance":[{"sequence":1,"focal":true,"coverage":{"display":"',
    '"outcome":"complete","disposition":"',
    '"provider":{"reference":"Organization?identifier=',
    '"careTeam":[{"sequence":1,"provider":{"reference":"Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|',
    '"role":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/claimcareteamrole","code":"primary",'
    '"display":"Primary provider"}]}',
    '"item":[{"sequence":1,"productOrService":{"coding":[{"system":"http://snomed.info/sct","code":"',
    '"encounter":[{"reference":"',
    '"servicedPeriod":{"start":"',
    '"locationCodeableConcept":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/ex-serviceplace",'
    '"code":"',
    '"category":{"coding":[{"system":"https://bluebutton.cms.gov/resources/variables/line_cms_type_srvc_cd",'
    '"code":"',
    '"adjudication":[{"category":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/adjudication",'
    '"code":"',
    '"category":{"coding":[{"system":"https://bluebutton.cms.gov/resources/codesystem/adjudication","code":"',
    '"amount":{"value":',
    '"currency":"USD"}',
    '"total":[{"category":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/adjudication",'
    '"code":"submitted","display":"Submitted Amount"}],"text":"Submitted Amount"},"amount":{"value":',
    '"payment":{"amount":{"value":',
    '"informationSequence":[',
    '"diagnosis":[{"sequence":1,"diagnosisReference":{"reference":"',
    '"procedure":[{"sequence":1,"procedureReference":{"reference":"',
    '"created":"',
    '"insurer":{"display":"',
    '"referral":{"reference":"#',
    '"contained":[{"resourceType":"ServiceRequest","id":"',
    '"intent":"order"',
    '"requester":{"reference":"Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|',
    '"performer":[{"reference":"Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|',
    # Notes and documents
    '"resourceType":"DocumentReference","id":"',
    '"type":{"coding":[{"system":"http://loinc.org","code":"34117-2","display":"History and physical note"},'
    '{"system":"http://loinc.org","code":"51847-2","display":"Evaluation+Plan note"}]}',
    '"category":[{"coding":[{"system":"http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category",'
    '"code":"clinical-note","display":"Clinical Note"}]}]',
    '"date":"',
    '"author":[{"reference":"Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|',
    '"custodian":{"reference":"Organization?identifier=',
    '"content":[{"attachment":{"contentType":"text/plain; charset=utf-8","data":"',
    '"format":{"system":"http://ihe.net/fhir/ihe.formatcode.fhir/CodeSystem/formatcode",'
    '"code":"urn:ihe:iti:xds:2017:mimeTypeSufficient","display":"mimeType Sufficient"}',
    '"context":{"encounter":[{"reference":"',
    '"period":{"start":"',
    '"resourceType":"DiagnosticReport","id":"',
    '"presentedForm":[{"contentType":"text/plain; charset=utf-8","data":"',
    '"result":[{"reference":"',
    # Encounters, conditions, procedures, medications, immunizations, care plans
    '"resourceType":"Encounter","id":"',
    '"class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"}',
    '"class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"',
    '"participant":[{"type":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType",'
    '"code":"PPRF","display":"primary performer"}],"text":"primary performer"}],"period":{"start":"',
    '"individual":{"reference":"Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|',
    '"location":[{"location":{"reference":"Location?identifier=',
    '"serviceProvider":{"reference":"Organization?identifier=',
    '"reasonCode":[{"coding":[{"system":"http://snomed.info/sct","code":"',
    '"reasonReference":[{"reference":"',
    '"resourceType":"Condition","id":"',
    '"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical",'
    '"code":"active"}]}',
    '"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical",'
    '"code":"resolved"}]}',
    '"verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-ver-status",'
    '"code":"confirmed"}]}',
    '"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-category",'
    '"code":"encounter-diagnosis","display":"Encounter Diagnosis"}]}]',
    '"onsetDateTime":"',
    '"abatementDateTime":"',
    '"recordedDate":"',
    '"resourceType":"Procedure","id":"',
    '"performedPeriod":{"start":"',
    '"resourceType":"MedicationRequest","id":"',
    '"medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"',
    '"authoredOn":"',
    '"dosageInstruction":[{"sequence":1,"timing":{"repeat":{"frequency":1,"period":1,"periodUnit":"d"}},'
    '"asNeededBoolean":false,"doseAndRate":[{"type":{"coding":[{"system":'
    '"http://terminology.hl7.org/CodeSystem/dose-rate-type","code":"ordered","display":"Ordered"}]},'
    '"doseQuantity":{"value":1}}]}]',
    '"resourceType":"Immunization","id":"',
    '"vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"',
    '"occurrenceDateTime":"',
    '"primarySource":true',
    '"status":"completed"',
    '"resourceType":"CarePlan","id":"',
    '"activity":[{"detail":{"code":{"coding":[{"system":"http://snomed.info/sct","code":"',
    '"resourceType":"AllergyIntolerance","id":"',
    '"resourceType":"Provenance","id":"',
    '"target":[{"reference":"',
    '"recorded":"',
    '"agent":[{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/provenance-participant-type",'
    '"code":"author","display":"Author"}],"text":"Author"},"who":{"reference":"',
    '"resourceType":"Patient","id":"',
    '"name":[{"use":"official","family":"',
    '"given":["',
    '"telecom":[{"system":"phone","value":"',
    '"gender":"female","birthDate":"',
    '"gender":"male","birthDate":"',
    '"address":[{"line":["',
    '"country":"US"',
    '"identifier":[{"system":"',
    '"resourceType":"Practitioner","id":"',
    '"resourceType":"Organization","id":"',
    '"active":true',
    # Observations and results: the bulk of most records
    '"meta":{"lastUpdated":"',
    '"meta":{"profile":["http://hl7.org/fhir/us/core/StructureDefinition/us-core-',
    '"text":{"status":"generated","div":"<div xmlns=\\"http://www.w3.org/1999/xhtml\\">',
    '</div>"}',
    '"component":[{"code":{"coding":[{"system":"http://loinc.org","code":"',
    '"referenceRange":[{"low":{"value":',
    '"high":{"value":',
    '"interpretation":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",'
    '"code":"',
    '"valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"',
    '"valueString":"',
    '"hasMember":[{"reference":"',
    '"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category",'
    '"code":"survey","display":"survey"}]}]',
    '"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category",'
    '"code":"laboratory","display":"Laboratory"}]}]',
    '"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category",'
    '"code":"vital-signs","display":"Vital Signs"}]}]',
    '"display":"',
    '"code":{"coding":[{"system":"http://snomed.info/sct","code":"',
    '"text":"',
    '"system":"http://unitsofmeasure.org","code":"',
    '"valueQuantity":{"value":',
    '"issued":"',
    '"effectiveDateTime":"',
    '"encounter":{"reference":"urn:uuid:',
    '"encounter":{"reference":"Encounter/',
    '"subject":{"reference":"Patient/',
    '"code":{"coding":[{"system":"http://loinc.org","code":"',
    '"status":"final",',
    '"resourceType":"Observation","id":"',
)

DICTIONARY_1 = "".join(_FRAGMENTS).encode("utf-8")


# Deflate's state with the dictionary already read, copied for each resource: reading the dictionary again each time
# was a tenth of packing an Observation. A copy deflates to the very bytes a new compressor would.
_PRIMED = zlib.compressobj(_LEVEL, zlib.DEFLATED, _WBITS, zdict=DICTIONARY_1)


_PLAIN = re.compile(r"[A-Za-z0-9.-]*")  # what FHIR allows in an id (and a type's name): written as it is in JSON


def _head(resource_type: str, resource_id: str) -> str:
    """The start of a compact resource's JSON that its type and id make (FORMAT_DEFLATE_2 leaves it out)."""
    if _PLAIN.fullmatch(resource_type) and _PLAIN.fullmatch(resource_id):
        return f'{{"resourceType":"{resource_type}","id":"{resource_id}",'
    return f'{{"resourceType":{json.dumps(resource_type)},"id":{json.dumps(resource_id)},'


def pack(json_text: bytes | str, resource_type: str | None = None, resource_id: str | None = None) -> bytes:
    """The stored form of a resource's compact JSON: the format byte, then the JSON deflated with the dictionary.
    Given the resource's type and id (as the row stores them), a JSON that starts with them is kept without them
    (FORMAT_DEFLATE_2); read it back with `unpack(stored, resource_type, resource_id)`."""
    data = json_text.encode("utf-8") if isinstance(json_text, str) else bytes(json_text)
    form = FORMAT_DEFLATE_1
    if resource_type is not None and resource_id is not None:
        head = _head(resource_type, resource_id).encode("utf-8")
        if data.startswith(head):
            data, form = data[len(head) :], FORMAT_DEFLATE_2
    packer = _PRIMED.copy()  # thread-safe: copy() holds the primed compressor's lock
    return bytes((form,)) + packer.compress(data) + packer.flush()


def unpack(stored: bytes | str, resource_type: str | None = None, resource_id: str | None = None) -> str:
    """The JSON text a stored value holds: the one place the stored form is read. Text is JSON as it was stored
    before version 18 (and by nothing since); an unknown format byte is an error, never a guess, and so is a
    FORMAT_DEFLATE_2 value read without the type and id of its row."""
    if isinstance(stored, str):
        return stored
    if stored[:1] == bytes((FORMAT_DEFLATE_2,)):
        if resource_type is None or resource_id is None:
            raise ValueError("a resource stored without its type and id is read without them")
        head = _head(resource_type, resource_id)
        if _CACHED_FROM <= len(stored) <= _CACHED_UP_TO:
            return _unpack_big(stored, head)
        return head + _inflate(stored)
    if _CACHED_FROM <= len(stored) <= _CACHED_UP_TO:
        return _unpack_big(stored)
    return _inflate(stored)


# A big resource (a Provenance that names every item of a visit, a note with its text) is often read again and again
# in a row (each detail page looks through its source's Provenances): the most recently read ones are kept inflated,
# up to a budget of their inflated size, while the record is open (Record.close forgets them).
_CACHED_FROM = 8 * 1024  # packed bytes: smaller ones inflate faster than they are looked up
_CACHED_UP_TO = 1024 * 1024
_CACHE_BUDGET = 16 * 1024 * 1024  # characters of JSON kept inflated, at most
_cache: OrderedDict[tuple[str, bytes], str] = OrderedDict()  # (head written back, packed) -> the JSON
_cache_size = 0
_cache_lock = threading.Lock()


def _unpack_big(stored: bytes, head: str = "") -> str:
    global _cache_size
    key = (head, stored)  # kept whole, head and all: a big resource read again is not copied again
    with _cache_lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    text = head + _inflate(stored)
    with _cache_lock:
        if key not in _cache:
            _cache[key] = text
            _cache_size += len(text)
            while _cache_size > _CACHE_BUDGET:
                _, dropped = _cache.popitem(last=False)
                _cache_size -= len(dropped)
    return text


def kept_inflated() -> int:
    """How many resources are kept inflated now."""
    return len(_cache)


def forget_unpacked() -> None:
    """Drop the resources kept inflated (when the record is locked)."""
    global _cache_size
    with _cache_lock:
        _cache.clear()
        _cache_size = 0


def _inflate(stored: bytes) -> str:
    """What a packed value holds after its format byte (FORMAT_DEFLATE_2's without the head)."""
    if stored[:1] in (bytes((FORMAT_DEFLATE_1,)), bytes((FORMAT_DEFLATE_2,))):
        unpacker = zlib.decompressobj(_WBITS, zdict=DICTIONARY_1)
        data = unpacker.decompress(memoryview(stored)[1:]) + unpacker.flush()
        return data.decode("utf-8")
    raise ValueError(f"a resource is stored in an unknown format ({stored[:1].hex() or 'empty'})")
