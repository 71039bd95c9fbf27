"""The sandbox's data: FHIR resources in memory, indexed once per patient and type.

Loading takes Synthea transaction Bundles (and batch/collection Bundles of reference data). Files without
conditional references load first, so that `Practitioner?identifier=...` in the others resolves against them.
Ids in the data are kept (a transaction with `fullUrl` urn:uuid ids gets the same ids every start); resources
without one get a stable id made from their content. Every other DocumentReference attachment of a patient is
moved into a Binary and replaced by a relative `Binary/<id>` URL, so both forms of US Core attachment exist.

The store is shared between the server thread and the tests: every change happens under one lock, and stored
dicts are never changed in place (a change replaces the dict), so a reader holding one sees a consistent resource.
"""

from __future__ import annotations

import base64
import copy
import re
import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from ..fhir import FHIRFormatError, parse_document
from ..fhir.references import has_conditional
from ..fhir.r4types import R4_RESOURCE_TYPES
from .errors import SandboxDataError
from .search import REFERENCE_TYPES

__all__ = ["Login", "SandboxStore", "make_logins"]

_STABLE_IDS = uuid.UUID("8a3c2f4e-2b7d-4f0e-9d51-3c6f7e0b9a12")
_COMPARTMENT_FIELDS = ("subject", "patient", "beneficiary")


@dataclass(frozen=True, slots=True)
class Login:
    """A portal account of one patient. The passwords are for synthetic demo patients only."""

    full_name: str
    username: str
    password: str
    patient_id: str


def _instant(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class SandboxStore:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._resources: dict[str, dict[str, dict[str, Any]]] = {}
        self._owner: dict[tuple[str, str], str] = {}
        self._by_patient: dict[str, dict[str, dict[str, None]]] = {}  # patient -> type -> ids, in order
        self._deleted: dict[tuple[str, str], str | None] = {}  # -> the owner it had
        self._identifiers: dict[tuple[str, str, str], str] = {}
        self._last_stamp = datetime.now(timezone.utc) - timedelta(seconds=1)

    # --- the public surface (used by tests between syncs) ----------------------------------------------------

    def put(self, resource: dict[str, Any]) -> dict[str, Any]:
        """Create or replace a resource; assigns an id when it has none, sets meta.versionId and meta.lastUpdated."""
        rtype = resource.get("resourceType") if isinstance(resource, dict) else None
        if not isinstance(rtype, str) or rtype not in R4_RESOURCE_TYPES:
            raise SandboxDataError("A resource needs a resourceType that FHIR R4 has.")
        item = copy.deepcopy(resource)
        with self._lock:
            rid = item.get("id")
            if not isinstance(rid, str) or not rid:
                item["id"] = rid = str(uuid.uuid4())
            old = self._resources.get(rtype, {}).get(rid)
            version = 1
            if old is not None:
                try:
                    version = int(old.get("meta", {}).get("versionId", "0")) + 1
                except ValueError:
                    version = 2
            self._store(item, self._stamp(), version)
            self._index_owner(item)
            return copy.deepcopy(item)

    def delete(self, resource_type: str, id: str) -> None:
        """Delete a resource: reads answer 410 Gone from now on, searches no longer find it."""
        with self._lock:
            resource = self._resources.get(resource_type, {}).pop(id, None)
            if resource is None:
                raise SandboxDataError(f"There is no {resource_type}/{id} to delete.")
            owner = self._owner.pop((resource_type, id), None)
            self._deleted[(resource_type, id)] = owner
            if owner is not None:
                self._by_patient.get(owner, {}).get(resource_type, {}).pop(id, None)

    def get(self, resource_type: str, id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._resources.get(resource_type, {}).get(id)
            return copy.deepcopy(found) if found is not None else None

    def for_patient(self, patient_id: str, resource_type: str) -> list[dict[str, Any]]:
        """Exactly what the FHIR API serves this patient for this type with full patient/*.rs access. For the
        hospital's reference data (Practitioner, Organization, Location, ...) that is every resource of the type."""
        with self._lock:
            return [copy.deepcopy(r) for r in self.visible(patient_id, resource_type)]

    def patients(self) -> list[dict[str, Any]]:
        with self._lock:
            return [copy.deepcopy(r) for r in self._resources.get("Patient", {}).values()]

    def types(self) -> list[str]:
        with self._lock:
            return sorted(t for t, items in self._resources.items() if items)

    # --- what the API reads (no copies: stored dicts are never changed in place) ----------------------------

    def find(self, resource_type: str, id: str) -> dict[str, Any] | None:
        return self._resources.get(resource_type, {}).get(id)

    def deleted_for(self, patient_id: str, resource_type: str, id: str) -> bool:
        """True when this patient could read the resource before it was deleted."""
        key = (resource_type, id)
        return key in self._deleted and (resource_type in REFERENCE_TYPES or self._deleted[key] == patient_id)

    def owner(self, resource_type: str, id: str) -> str | None:
        return self._owner.get((resource_type, id))

    def visible(self, patient_id: str, resource_type: str) -> list[dict[str, Any]]:
        with self._lock:
            if resource_type in REFERENCE_TYPES:
                return list(self._resources.get(resource_type, {}).values())
            ids = list(self._by_patient.get(patient_id, {}).get(resource_type, {}))
            table = self._resources.get(resource_type, {})
            return [table[i] for i in ids if i in table]

    def readable_by(self, patient_id: str, resource_type: str, id: str) -> dict[str, Any] | None:
        resource = self.find(resource_type, id)
        if resource is None:
            return None
        if resource_type in REFERENCE_TYPES or self._owner.get((resource_type, id)) == patient_id:
            return resource
        return None

    # --- loading -------------------------------------------------------------------------------------------

    def load(self, paths: Sequence[Path]) -> None:
        files = _expand(paths)
        documents = []
        for path in files:
            try:
                documents.append((path, path.read_bytes()))
            except OSError as exc:
                raise SandboxDataError(f"Cannot read {path}: {exc.strerror}.") from exc
        # Reference data first: the patient bundles' conditional references resolve against it.
        documents.sort(key=lambda item: 1 if has_conditional(item[1]) else 0)
        stamp = self._stamp()
        with self._lock:
            for path, data in documents:
                try:
                    parsed = parse_document(data, resolver=self._resolve, validate=False)
                except FHIRFormatError as exc:
                    raise SandboxDataError(f"{path.name} is not FHIR the sandbox can load: {exc}") from exc
                loaded = [item.data for item in parsed.resources]
                for resource in loaded:
                    self._store(resource, stamp, 1)
                for resource in loaded:
                    self._index_owner(resource)
                self._split_attachments(loaded, stamp)

    def _resolve(self, resource_type: str, system: str, value: str) -> str | None:
        return self._identifiers.get((resource_type, system, value))

    def _stamp(self) -> str:
        # Strictly increasing, so a change is always later than the sync that came before it.
        now = datetime.now(timezone.utc)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # instants carry milliseconds
        if now <= self._last_stamp:
            now = self._last_stamp + timedelta(milliseconds=1)
        self._last_stamp = now
        return _instant(now)

    def _store(self, resource: dict[str, Any], stamp: str, version: int) -> None:
        rtype, rid = resource["resourceType"], resource["id"]
        meta = dict(resource.get("meta") or {})
        meta["versionId"] = str(version)
        meta["lastUpdated"] = stamp
        resource["meta"] = meta
        self._resources.setdefault(rtype, {})[rid] = resource
        self._deleted.pop((rtype, rid), None)
        for ident in resource.get("identifier") or []:
            if isinstance(ident, dict) and isinstance(ident.get("value"), str):
                system = ident["system"] if isinstance(ident.get("system"), str) else ""
                self._identifiers.setdefault((rtype, str(system), str(ident["value"])), rid)

    def _index_owner(self, resource: dict[str, Any]) -> None:
        rtype, rid = resource["resourceType"], resource["id"]
        owner = self._find_owner(resource)
        previous = self._owner.get((rtype, rid))
        if previous is not None and previous != owner:
            self._by_patient.get(previous, {}).get(rtype, {}).pop(rid, None)
        if owner is None:
            self._owner.pop((rtype, rid), None)
            return
        self._owner[(rtype, rid)] = owner
        self._by_patient.setdefault(owner, {}).setdefault(rtype, {})[rid] = None

    def _find_owner(self, resource: dict[str, Any]) -> str | None:
        rtype = resource["resourceType"]
        if rtype == "Patient":
            return str(resource["id"])
        if rtype in REFERENCE_TYPES:
            return None
        if rtype == "Binary":
            return self._owner_of_reference(resource.get("securityContext"))
        if rtype == "Provenance":
            for target in resource.get("target") or []:
                owner = self._owner_of_reference(target)
                if owner is not None:
                    return owner
            return None
        for name in _COMPARTMENT_FIELDS:
            value = resource.get(name)
            if isinstance(value, dict):
                ref = value.get("reference")
                if isinstance(ref, str):
                    parts = ref.rstrip("/").split("/")
                    if len(parts) >= 2 and parts[-2] == "Patient":
                        return parts[-1]
        return None

    def _owner_of_reference(self, value: Any) -> str | None:
        if not isinstance(value, dict) or not isinstance(value.get("reference"), str):
            return None
        parts: list[str] = value["reference"].rstrip("/").split("/")
        if len(parts) < 2:
            return None
        if parts[-2] == "Patient":
            return parts[-1]
        return self._owner.get((parts[-2], parts[-1]))

    def _split_attachments(self, loaded: list[dict[str, Any]], stamp: str) -> None:
        seen: dict[str, int] = {}
        for resource in loaded:
            if resource["resourceType"] != "DocumentReference":
                continue
            owner = self._owner.get(("DocumentReference", resource["id"]))
            if owner is None:
                continue
            number = seen.get(owner, 0)
            seen[owner] = number + 1
            if number % 2:
                continue  # every other document keeps its inline data
            self._move_to_binary(resource, stamp)

    def _move_to_binary(self, resource: dict[str, Any], stamp: str) -> None:
        contents = []
        for index, content in enumerate(resource.get("content") or []):
            attachment = content.get("attachment") if isinstance(content, dict) else None
            if not isinstance(attachment, dict) or not isinstance(attachment.get("data"), str):
                contents.append(content)
                continue
            binary_id = str(uuid.uuid5(_STABLE_IDS, f"DocumentReference/{resource['id']}/{index}"))
            binary = {
                "resourceType": "Binary",
                "id": binary_id,
                "contentType": attachment.get("contentType", "application/octet-stream"),
                "securityContext": {"reference": f"DocumentReference/{resource['id']}"},
                "data": attachment["data"],
            }
            self._store(binary, stamp, 1)
            self._index_owner(binary)
            moved = {k: v for k, v in attachment.items() if k != "data"}
            moved["url"] = f"Binary/{binary_id}"
            try:
                moved["size"] = len(base64.b64decode(attachment["data"], validate=False))
            except ValueError:
                pass
            contents.append({**content, "attachment": moved})
        resource["content"] = contents


def _expand(paths: Sequence[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            files.extend(sorted(p for p in path.glob("*.json") if p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            raise SandboxDataError(f"There is no file or directory {path}.")
    if not files:
        raise SandboxDataError("No FHIR JSON files were found in the data given to the sandbox.")
    return files


def _full_name(patient: dict[str, Any]) -> str:
    names = [n for n in patient.get("name") or [] if isinstance(n, dict)]
    name = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
    given = [g for g in name.get("given") or [] if isinstance(g, str)]
    family = str(name["family"]) if isinstance(name.get("family"), str) else ""
    text = " ".join([*given, family]).strip()
    return text or (name.get("text") if isinstance(name.get("text"), str) else "") or f"Patient {patient['id']}"


def make_logins(patients: Iterable[dict[str, Any]]) -> list[Login]:
    """One portal login per patient, stable across restarts: the first given name without Synthea's digits,
    lower case (`carolyne`), password `<username>-demo`."""
    logins: list[Login] = []
    taken: set[str] = set()
    for patient in sorted(patients, key=lambda p: (_full_name(p), p["id"])):
        full = _full_name(patient)
        first = full.split(" ")[0] if full else "patient"
        base = re.sub(r"[^a-z]", "", first.lower()) or "patient"
        username, n = base, 1
        while username in taken:
            n += 1
            username = f"{base}{n}"
        taken.add(username)
        logins.append(Login(full, username, f"{username}-demo", patient["id"]))
    return logins
