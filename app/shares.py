"""Sharing a summary (issue 6): the service the CLI and the UI both call.

    selection = candidates(record, person)                 # one person's items, each marked default or not
    picked = selection.pick(sections=..., leave_out=..., add=...)
    made = create_share(record, host, picked, label=..., passcode=..., expires_in=...)   # link, QR, PDF, FHIR
    share_links(record, host)      revoke(record, host, link_id)      merge_access(record, host)
    received = await open_shared(shlink, recipient=..., passcode=...)    keep_received(record, received)

The summary is built over facts (app.record.facts): each fact's newest resource goes in once, so a patient with
three portals sends each problem once; medications come from the reconciled list's current entries. The link is
published to the share host that Carry's own server serves under /shl (its store lives in the user data
directory); only ciphertext goes there. Who opened a link comes back sealed to the record's access key, and is
merged into the record (and its audit log) whenever the record is unlocked.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sync.atomic import write_atomic
from sync.errors import Action, CarryError
from sync.fhir import dumps
from sync.fhir.references import literal_references
from sync.http import is_https_or_loopback
from sync.share import (
    SECTIONS,
    LinkError,
    ReceivedShare,
    ShareError,
    ShareHostError,
    ShareHostStore,
    SQLiteShareHostStore,
    PatientNote,
    build_ips,
    build_ktc,
    check_ips,
    check_ktc,
    default_selection,
    open_access,
    open_link,
    patient_name,
    publish,
    qr_png,
    qr_svg,
    REACH_APP_HINT,
    reach_warning,
    rendered_pdf,
    summary_pdf,
    summary_rows,
)

from .locations import config_dir, share_host_path
from .record import (
    Fact, Person, Record, UpsertCounts, choose_person, facts, find_note, notes, notes_for, reconcile_medications,
)  # fmt: skip
from .record.share_state import AccessEntry, ShareLinkRow, ShareState
from .record.view_queries import newest_first, raw_by_rowid, same_source_raw

__all__ = [
    "REACH_APP_HINT",
    "CHECK_IN",
    "CHECK_IN_PRINT_EXPIRY",
    "CHECK_IN_SCREEN_EXPIRY",
    "DEFAULT_EXPIRY",
    "IPS",
    "Candidate",
    "MadeShare",
    "NO_VIEWER",
    "Selection",
    "ShareHost",
    "ShareSettings",
    "candidates",
    "carried_notes",
    "counted",
    "create_share",
    "host_of",
    "keep_received",
    "merge_access",
    "merge_access_quietly",
    "open_shared",
    "parse_expiry",
    "received_person",
    "revoke",
    "send_note",
    "send_summary",
    "send_vital_sign",
    "share_links",
    "use_carry_host",
    "use_this_computer",
    "writeback_targets",
    "WritebackTarget",
]

SETTINGS_FILE = "share.json"
# The two kinds of link: the IPS summary for a doctor (passcode allowed), and the CMS "Kill the Clipboard" link for
# a clinic's check-in scanner (flag U, a collection Bundle with a rendered PDF, always expiring).
IPS, CHECK_IN = "ips", "ktc"
CHECK_IN_SCREEN_EXPIRY = "15m"  # a QR code shown on a phone screen (the profile: 5-15 minutes)
CHECK_IN_PRINT_EXPIRY = "48h"  # a printed QR code (the profile: 24-48 hours)
NO_VIEWER = "none"  # the viewer setting for plain shlink:/ links
DEFAULT_EXPIRY = "7d"
DEFAULT_PORT = 8550
# The sections a patient may fill, in document order, with the resource types each holds.
_SECTION_TYPES: dict[str, tuple[str, ...]] = {
    "problems": ("Condition",),
    "allergies": ("AllergyIntolerance",),
    "medications": ("MedicationRequest", "MedicationStatement"),
    "immunizations": ("Immunization",),
    "results": ("Observation", "DiagnosticReport"),
    "procedures": ("Procedure",),
    "vital-signs": ("Observation",),
    "past-problems": ("Condition",),
}
_FACT_TYPES = ("Condition", "AllergyIntolerance", "Immunization", "Observation", "DiagnosticReport", "Procedure")
_SUPPORTING_TYPES = frozenset({"Medication", "Practitioner", "PractitionerRole", "Organization", "Observation",
                               "Location", "Specimen", "Device"})  # fmt: skip


# --- where links point -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShareSettings:
    """Where the links Carry makes point: `public_url` (the address the share routes are reached at from outside,
    without /shl), and the SHL viewer the links open in (`<viewer>#shlink:/…`, so a phone camera opens it): by
    default Carry's own viewer on the share host (`<public url>/shl/view`), another viewer's https address, or
    NO_VIEWER for plain `shlink:/…` links.

    Kept in <config dir>/share.json; $CARRY_SHARE_PUBLIC_URL and $CARRY_SHARE_VIEWER_URL win over it."""

    public_url: str | None = None
    viewer_url: str | None = None
    host_url: str | None = None  # a Carry host (`carry host`) links live on; None: this computer

    @classmethod
    def load(cls) -> ShareSettings:
        path = config_dir() / SETTINGS_FILE
        data: dict[str, Any] = {}
        if path.exists():
            try:
                loaded = json.loads(path.read_text("utf-8"))
                data = loaded if isinstance(loaded, dict) else {}
            except (OSError, ValueError) as exc:
                raise ShareError(f"{path} cannot be read as Carry's share settings; fix or delete it.") from exc
        public = os.environ.get("CARRY_SHARE_PUBLIC_URL") or data.get("public_url") or None
        viewer = os.environ.get("CARRY_SHARE_VIEWER_URL") or data.get("viewer_url") or None
        host = data.get("host_url") or None
        return cls(public if isinstance(public, str) else None, viewer if isinstance(viewer, str) else None,
                   host if isinstance(host, str) else None)  # fmt: skip

    def save(self) -> Path:
        _check_public_url(self.public_url)
        _check_viewer(self.viewer_url)
        _check_host_url(self.host_url)
        path = config_dir() / SETTINGS_FILE
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_atomic(path, json.dumps({"public_url": self.public_url, "viewer_url": self.viewer_url,
                                       "host_url": self.host_url}, indent=2).encode())  # fmt: skip
        return path

    def public_base(self, own_url: str | None = None) -> str:
        """The base the links' manifest URLs are built on: `<public url>/shl`, or `<Carry host>/shl`."""
        root = self.host_url or self.public_url or own_url or f"http://127.0.0.1:{DEFAULT_PORT}"
        return root.rstrip("/") + "/shl"

    def viewer(self, public_base: str) -> str | None:
        """The address links are prefixed with: the configured viewer, Carry's own (`<public base>/view`), or None
        for plain links."""
        if self.viewer_url == NO_VIEWER:
            return None
        return self.viewer_url or public_base.rstrip("/") + "/view"


def _check_public_url(url: str | None) -> None:
    if url is None:
        return
    if not is_https_or_loopback(url):
        raise ShareError("The public address for shared links must start with https:// (or be this computer).")
    if url.rstrip("/").endswith("/shl"):
        raise ShareError("Give the public address without /shl; Carry adds it.")


def _check_host_url(url: str | None) -> None:
    if url is None:
        return
    if not is_https_or_loopback(url) or "#" in url or "?" in url:
        raise ShareError("A Carry host's address must start with https:// (or be this computer), without ? or #.")
    if url.rstrip("/").endswith("/shl"):
        raise ShareError("Give the Carry host's address without /shl; Carry adds it.")


def _check_viewer(url: str | None) -> None:
    if url is not None and url != NO_VIEWER and (not url.startswith("https://") or "#" in url.rstrip("#")):
        raise ShareError("The viewer address must be an https:// URL without a fragment.")


CREDENTIAL_SETTING = "share.host_credential"  # the publish credential for a Carry host: inside the record only


class ShareHost:
    """The share host's store (ciphertext only) and the address its routes are reached at: this computer's own
    (its store in the data directory, served by `carry serve`), or a Carry host elsewhere (`remote`)."""

    def __init__(
        self, store: ShareHostStore, public_base: str, viewer_url: str | None = None, *, remote: str | None = None
    ) -> None:
        self.store = store
        self.public_base = public_base.rstrip("/")
        self.viewer_url = viewer_url
        self.remote = remote  # the Carry host's address, when the links live there

    def __repr__(self) -> str:
        return f"<ShareHost {self.public_base!r}>"

    def reach_warning(self) -> str | None:
        """The plain warning when links on this host cannot be opened from outside this computer's network."""
        return reach_warning(self.public_base)

    @staticmethod
    def store_path() -> Path:
        return share_host_path()

    @classmethod
    def open(cls, own_url: str | None = None, settings: ShareSettings | None = None) -> ShareHost:
        chosen = replace(settings or ShareSettings.load(), host_url=None)  # this computer's own host
        base = chosen.public_base(own_url)
        return cls(SQLiteShareHostStore(cls.store_path()), base, chosen.viewer(base))

    @classmethod
    def existing(cls) -> ShareHost | None:
        """The host when its store exists (nothing was ever shared from this machine otherwise)."""
        return cls.open() if cls.store_path().exists() else None

    @classmethod
    def chosen(cls, record: Record, own_url: str | None = None, local: ShareHost | None = None) -> ShareHost:
        """Where new links go: the Carry host the settings name (with the credential kept in the record), else this
        computer's host (`local`, the one this process serves, when given)."""
        settings = ShareSettings.load()
        if settings.host_url is None:
            return local if local is not None else cls.open(own_url, settings)
        return cls.remote_host(record, settings)

    @classmethod
    def remote_host(cls, record: Record, settings: ShareSettings, timeout: float = 30.0) -> ShareHost:
        from sync.share.host.hosting import RemoteHostStore

        url = settings.host_url
        assert url is not None
        credential = record.get_setting(CREDENTIAL_SETTING)
        if not credential:
            raise ShareError(f"Your links live on the Carry host {url}, but this record holds no publish credential "
                             "for it.", action=Action.SET_SHARE_HOST)  # fmt: skip
        base = settings.public_base()
        return cls(RemoteHostStore(url, credential, timeout=timeout), base, settings.viewer(base), remote=url.rstrip("/"))

    @classmethod
    def every(cls, record: Record, local: ShareHost | None = None) -> list[ShareHost]:
        """Every host this record's links may live on: this computer's (when it holds a store) and the Carry host."""
        hosts = [local] if local is not None else [h for h in [cls.existing()] if h is not None]
        settings = ShareSettings.load()
        if settings.host_url is not None and record.get_setting(CREDENTIAL_SETTING):
            remote = cls.remote_host(record, settings, timeout=8.0)  # read on every unlock: never hold one up long
            hosts = [h for h in hosts if h.public_base != remote.public_base] + [remote]
        return hosts

    def holds(self, link: ShareLinkRow) -> bool:
        """Whether a link of the record was made on this host (its manifest URL is under this host's base)."""
        return str(link.payload.get("url", "")).startswith(self.public_base + "/")

    def asgi(self, clock: Callable[[], float] = time.time) -> Any:
        """The host's routes as an ASGI app; `clock` decides which links have expired (tests move it by hand)."""
        from sync.share import share_app

        return share_app(self.store, public_base=self.public_base, clock=clock)

    def purge(self) -> int:
        return self.store.purge(time.time())


def use_carry_host(record: Record, url: str, credential: str) -> dict[str, Any]:
    """Make new links live on the Carry host at `url`: check the credential there first, then keep it in the
    (encrypted) record and the address in share.json. Returns what the host says of this device."""
    from sync.share.host.hosting import RemoteHostStore

    url = url.strip().rstrip("/")
    credential = credential.strip()
    _check_host_url(url)
    if not credential:
        raise ShareError("The publish credential is empty.", action=Action.GET_PUBLISH_CREDENTIAL)
    try:
        device = RemoteHostStore(url, credential).whoami()
    except ShareHostError as exc:
        raise ShareError(f"{exc} Nothing was changed.", action=exc.action) from exc
    record.set_setting(CREDENTIAL_SETTING, credential)
    replace(ShareSettings.load(), host_url=url).save()
    record.audit("share-host", host=url, device=str(device.get("device", ""))[:64])
    return device


def use_this_computer() -> None:
    """Make new links live on this computer's own host again (links made on a Carry host stay there)."""
    replace(ShareSettings.load(), host_url=None).save()


# --- what can go in ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """One item the patient may put in the summary: a fact, shown by its newest resource."""

    key: str  # the fact id (stable across syncs; `carry list --merged` shows it)
    section: str
    resource_type: str
    display: str
    date: str | None
    default: bool
    sources: tuple[str, ...]
    resource: Mapping[str, Any] = field(repr=False, compare=False)
    source_id: int = 0
    older: bool = False  # a result or vital sign from before the last 12 months or so: offered, never a default
    # (type, id, source id) of every source's copy of the fact: the patient's notes on any of them go along
    copies: tuple[tuple[str, str, int], ...] = field(default=(), repr=False, compare=False)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.key, "section": self.section, "resourceType": self.resource_type,
                "display": self.display, "date": self.date, "default": self.default,
                "sources": list(self.sources)}  # fmt: skip


@dataclass(frozen=True)
class Selection:
    """The patient's resource, and the items per section (in SECTIONS order) with the ones picked."""

    patient: Mapping[str, Any] = field(repr=False)
    patient_source_id: int
    items: tuple[Candidate, ...]
    picked: frozenset[str]  # candidate keys
    person: Person | None = field(default=None, repr=False)  # whose summary it is: every item must be theirs

    def section_names(self) -> list[str]:
        return [name for name in SECTIONS if any(c.section == name for c in self.items)]

    def in_section(self, name: str) -> list[Candidate]:
        return [c for c in self.items if c.section == name]

    def chosen(self) -> list[Candidate]:
        return [c for c in self.items if c.key in self.picked]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for c in self.chosen():
            out[c.section] = out.get(c.section, 0) + 1
        return out

    def pick(
        self,
        *,
        sections: Iterable[str] | None = None,
        leave_out: Iterable[str] = (),
        add: Iterable[str] = (),
    ) -> Selection:
        """Whole sections (`sections`: only these, each with its default items, or all of its items when the
        section has no default ones), then single items left out or added by id (a fact id, its first 8+
        characters, or TYPE/ID of one of its resources)."""
        picked = set(self.picked)
        if sections is not None:
            wanted = [s.strip() for s in sections if s.strip()]
            unknown = [s for s in wanted if s not in _SECTION_TYPES]
            if unknown:
                raise ShareError(
                    f"{unknown[0]!r} is not a summary section; choose from {', '.join(_SECTION_TYPES)}."
                )
            picked = {c.key for c in self.items if c.section in wanted and c.default}
            for name in wanted:
                if not any(c.section == name and c.key in picked for c in self.items):
                    picked |= {c.key for c in self.in_section(name) if not c.older}
        for ref in leave_out:
            picked.discard(self._find(ref).key)
        for ref in add:
            picked.add(self._find(ref).key)
        return replace(self, picked=frozenset(picked))

    def with_items(self, keys: Iterable[str]) -> Selection:
        known = {c.key for c in self.items}
        return replace(self, picked=frozenset(k for k in keys if k in known))

    def _find(self, ref: str) -> Candidate:
        ref = ref.strip()
        exact = [c for c in self.items if c.key == ref or f"{c.resource_type}/{c.resource.get('id')}" == ref]
        if not exact and len(ref) >= 6:
            exact = [c for c in self.items if c.key.startswith(ref)]
        if not exact:
            raise ShareError(f"{ref!r} is not an item Carry can put in the summary.", action=Action.SEE_SUMMARY_ITEMS)
        if len({c.key for c in exact}) > 1:
            raise ShareError(f"{ref!r} matches more than one item; give more of its id.")
        return exact[0]


def _load_json(record: Record, rowids: Sequence[int]) -> dict[int, dict[str, Any]]:
    from sync.fhir import loads

    out: dict[int, dict[str, Any]] = {}
    for rowid, raw in raw_by_rowid(record, rowids):
        value = loads(raw.encode("utf-8"))
        if isinstance(value, dict):
            out[rowid] = value
    return out


def _patient(record: Record, person: Person) -> tuple[dict[str, Any], int]:
    """The person's own Patient resource (the newest of theirs), carrying the identifiers of every one of the
    person's Patients: the summary names one patient, with all that patient's identifiers and no one else's."""
    mine = [m for m in person.members if m.rowid is not None]
    if not mine:
        raise ShareError("The record holds no Patient resource to name in the summary; sync or import your records first.")
    loaded = _load_json(record, [m.rowid for m in mine if m.rowid is not None])
    rows = newest_first(record, list(loaded))
    newest, source_id = rows[0]
    patient = dict(loaded[newest])
    identifiers: list[Any] = []
    for rowid in [newest, *(r for r, _ in rows if r != newest)]:
        for identifier in loaded[int(rowid)].get("identifier") or []:
            if identifier not in identifiers:
                identifiers.append(identifier)
    if identifiers:
        patient["identifier"] = identifiers
    return patient, source_id


def candidates(record: Record, person: Person | None = None, *, now: datetime | None = None) -> Selection:
    """Every item that may go into a summary of this person (the only person when None; a record of several
    persons raises PersonNeeded), with the default items of issue 6 picked: active problems, current medications,
    allergies, immunizations, the last 12 months of results, procedures. Resolved problems, vital signs and older
    results are offered too, unpicked (older ones marked `older`, so a screen can group them by year)."""
    chosen_person = person if person is not None else choose_person(record, None)
    if chosen_person is None:
        raise ShareError("The record holds no Patient resource to name in the summary; sync or import your records first.")
    moment = now or datetime.now(timezone.utc)
    patient, patient_source = _patient(record, chosen_person)
    scope = chosen_person.subjects
    found = facts(record, list(_FACT_TYPES), subjects=scope)
    horizon = (moment - timedelta(days=400)).strftime("%Y-%m-%d")
    wanted: list[Fact] = []
    older: set[str] = set()
    for fact in found:
        if fact.status == "entered-in-error":
            continue
        if fact.resource_type in ("Observation", "DiagnosticReport") and (fact.date or "") < horizon:
            older.add(fact.fact_id)  # a patient whose last labs are two years old can still share them
        wanted.append(fact)
    meds = reconcile_medications(record, subjects=scope)
    med_facts = {f.fact_id: f for f in facts(record, ["MedicationRequest", "MedicationStatement"], subjects=scope)}
    current_meds = [med_facts[e.fact_ids[0]] for e in meds.current if e.fact_ids and e.fact_ids[0] in med_facts]
    newest = {f.fact_id: f.newest for f in [*wanted, *current_meds]}
    resources = _load_json(record, [m.rowid for m in newest.values()])

    by_id: dict[int, Fact] = {}
    for fact in [*wanted, *current_meds]:
        resource = resources.get(newest[fact.fact_id].rowid)
        if resource is not None:
            by_id[id(resource)] = fact
    defaults = default_selection(list(resources.values()), now=moment)
    default_keys: dict[str, str] = {}
    for name, chosen in defaults.items():
        for picked_resource in chosen:
            owner = by_id.get(id(picked_resource))
            if owner is not None:
                default_keys[owner.fact_id] = name
    items: list[Candidate] = []
    for fact in current_meds:
        resource = resources.get(newest[fact.fact_id].rowid)
        if resource is not None:
            items.append(_candidate(fact, "medications", True, resource))
    for fact in wanted:
        resource = resources.get(newest[fact.fact_id].rowid)
        if resource is None:
            continue
        section = default_keys.get(fact.fact_id) or _other_section(resource)
        if section is None or section == "medications":
            continue
        items.append(replace(_candidate(fact, section, fact.fact_id in default_keys, resource),
                             older=fact.fact_id in older))  # fmt: skip
    order = {name: n for n, name in enumerate(SECTIONS)}
    items.sort(key=lambda c: (order.get(c.section, 99), not c.default, _neg(c.date)))
    picked = frozenset(c.key for c in items if c.default)
    return Selection(patient, patient_source, tuple(items), picked, chosen_person)


def _neg(date: str | None) -> str:
    # Newest first within a section: invert the characters of the ISO date.
    return "".join(chr(0x10FFFF - ord(ch)) for ch in (date or ""))


def _candidate(fact: Fact, section: str, default: bool, resource: Mapping[str, Any]) -> Candidate:
    return Candidate(fact.fact_id, section, fact.resource_type, fact.display, fact.date, default, fact.sources,
                     resource, fact.newest.source_id,
                     copies=tuple((m.resource_type, m.id, m.source_id) for m in fact.members))  # fmt: skip


def _codes(concept: Any) -> set[str]:
    out = set()
    if isinstance(concept, Mapping):
        for coding in concept.get("coding") or []:
            if isinstance(coding, Mapping) and isinstance(coding.get("code"), str):
                out.add(coding["code"])
    return out


def _other_section(resource: Mapping[str, Any]) -> str | None:
    """Where an item that is not in the default summary would go, when the patient adds it."""
    rtype = resource.get("resourceType")
    if rtype == "Condition":
        return "past-problems"
    if rtype in ("AllergyIntolerance", "Immunization", "Procedure"):
        return {"AllergyIntolerance": "allergies", "Immunization": "immunizations", "Procedure": "procedures"}[rtype]
    if rtype in ("Observation", "DiagnosticReport"):
        categories = set().union(*(_codes(c) for c in resource.get("category") or [])) if resource.get("category") else set()
        if "vital-signs" in categories:
            return "vital-signs"
        if "laboratory" in categories or "LAB" in categories:
            return "results"
    return None


# --- making a link -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MadeShare:
    link_id: str
    uri: str = field(repr=False)  # what the QR code holds (viewer-prefixed when a viewer is configured)
    shlink: str = field(repr=False)  # the bare shlink:/…
    label: str | None = field(repr=False)
    expires: int | None
    flag: str
    sections: dict[str, int]
    bundle: dict[str, Any] = field(repr=False)
    fhir_json: bytes = field(repr=False)
    qr_png: bytes = field(repr=False)
    qr_svg: str = field(repr=False)
    pdf: bytes = field(repr=False)
    reach_warning: str | None = None  # set when the link cannot be opened from outside this network
    kind: str = IPS

    @property
    def short_id(self) -> str:
        return self.link_id[:8]

    def file_name(self, extension: str) -> str:
        """A download name the patient recognises: `health-summary-elvina-lemke.pdf` (ASCII, safe in a header)."""
        patient: dict[str, Any] = next((e["resource"] for e in self.bundle.get("entry") or []
                                        if (e.get("resource") or {}).get("resourceType") == "Patient"), {})  # fmt: skip
        name = unicodedata.normalize("NFKD", patient_name(patient) if patient else "")
        slug = re.sub(r"[^a-z0-9]+", "-", name.encode("ascii", "ignore").decode().lower()).strip("-")[:40]
        kind = "check-in-records" if self.kind == CHECK_IN else "health-summary"
        return f"{kind}-{slug or 'patient'}.{extension}"


_COUNTED = {"problems": ("active problem", "active problems"),
            "allergies": ("allergy or intolerance", "allergies and intolerances"),
            "medications": ("medication", "medications"), "immunizations": ("immunization", "immunizations"),
            "results": ("result", "results"), "procedures": ("procedure", "procedures"),
            "devices": ("medical device", "medical devices"), "vital-signs": ("vital sign", "vital signs"),
            "past-problems": ("past problem", "past problems"),
            "social-history": ("social history item", "social history items")}  # fmt: skip


def counted(section: str, n: int) -> str:
    """"1 allergy or intolerance", "5 active problems": a section's count in words."""
    one, many = _COUNTED.get(section, (section, section))
    return f"{n} {one if n == 1 else many}"


def parse_expiry(text: str | None, *, now: float | None = None) -> int | None:
    """'7d', '12h', '30d', '90m' or 'never' -> the expiry as epoch seconds (None for never)."""
    value = (text or DEFAULT_EXPIRY).strip().lower()
    if value in ("never", "none", "0"):
        return None
    match = re.fullmatch(r"(\d{1,4})\s*([mhdw])", value)
    if not match:
        raise ShareError(f"{text!r} is not an expiry Carry understands; use e.g. 1d, 7d, 30d, 12h or never.")
    amount, unit = int(match.group(1)), match.group(2)
    seconds = amount * {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}[unit]
    if seconds < 60 or seconds > 366 * 86400:
        raise ShareError("A link may last from one minute to one year.")
    return int((now if now is not None else time.time()) + seconds)


def _supporting(record: Record, chosen: Sequence[Candidate]) -> list[tuple[dict[str, Any], int]]:
    """The resources the picked items refer to (medications, practitioners, organisations, member results), two
    levels deep, from the same source as the item only: the same id in another source is another thing (or
    another person's result)."""
    from sync.fhir import loads

    found: dict[tuple[str, str], tuple[dict[str, Any], int]] = {}
    frontier: list[tuple[Mapping[str, Any], int]] = [(c.resource, c.source_id) for c in chosen]
    for _depth in range(2):
        following: list[tuple[Mapping[str, Any], int]] = []
        for resource, source_id in frontier:
            for rtype, rid in set(literal_references(resource)):
                if rtype not in _SUPPORTING_TYPES or (rtype, rid) in found:
                    continue
                raw = same_source_raw(record, rtype, rid, source_id)
                if raw is not None:
                    value = loads(raw.encode("utf-8"))
                    if isinstance(value, dict):
                        found[(rtype, rid)] = (value, source_id)
                        following.append((value, source_id))
        frontier = following
    return list(found.values())


def _origins(
    record: Record, chosen: Sequence[Candidate], supporting: Sequence[tuple[Mapping[str, Any], int]]
) -> dict[tuple[str, str], str]:
    """(resourceType, id) of each resource going into a share -> the name of the source it came from, so the
    Bundle can say where each item came from (as Provenance; sync/share/summary/provenance.py)."""
    names = {source.id: source.name for source in record.sources()}
    out: dict[tuple[str, str], str] = {}
    for resource, source_id in [*((c.resource, c.source_id) for c in chosen), *supporting]:
        rtype, rid, name = resource.get("resourceType"), resource.get("id"), names.get(source_id)
        if isinstance(rtype, str) and isinstance(rid, str) and name:
            out.setdefault((rtype, rid), name)
    return out


def _copies(c: Candidate) -> tuple[tuple[str, str, int], ...]:
    """(type, id, source id) of every copy of an item whose notes go along with it (none when it has no id)."""
    rid = c.resource.get("id")
    if not isinstance(rid, str):
        return ()
    return c.copies or ((c.resource_type, rid, c.source_id),)


def _patient_notes(record: Record, chosen: Sequence[Candidate]) -> list[PatientNote]:
    """The patient's current notes on the picked items (on any source's copy of each), carried into the share as
    patient-asserted content about the copy that goes in."""
    out = []
    for c in chosen:
        for rtype, copy_id, source_id in _copies(c):
            for note in notes_for(record, rtype, copy_id, source_id):
                out.append(PatientNote((c.resource_type, str(c.resource["id"])), note.text, note.created_at, c.display))
    return out


def carried_notes(record: Record, items: Sequence[Candidate]) -> dict[str, int]:
    """How many of the patient's current notes go along with each of these items (by candidate key) when it is
    shared: those on any source's copy of it, as a summary or a check-in carries them. One read of the notes for
    the whole list (the share screen counts every item it offers)."""
    by_copy: dict[tuple[str, str, int], int] = {}
    for note in notes(record):
        if note.source_id is not None:
            key = (note.item_type, note.item_id, note.source_id)
            by_copy[key] = by_copy.get(key, 0) + 1
    counts = {c.key: sum(by_copy.get(copy, 0) for copy in _copies(c)) for c in items}
    return {key: n for key, n in counts.items() if n}


def build_summary(record: Record, selection: Selection, *, now: datetime | None = None) -> dict[str, Any]:
    """The IPS document of the picked items; refused (ShareError) when it breaks a rule of the IPS."""
    chosen = selection.chosen()
    sections: dict[str, list[Mapping[str, Any]]] = {}
    for c in chosen:
        sections.setdefault(c.section, []).append(c.resource)
    supporting = _supporting(record, chosen)
    _one_patient(selection, chosen, supporting)
    bundle = build_ips(selection.patient, sections, supporting=[r for r, _ in supporting], now=now,
                       sources=_origins(record, chosen, supporting), notes=_patient_notes(record, chosen))  # fmt: skip
    problems = check_ips(bundle)
    if problems:
        raise ShareError("Carry will not share this summary: it breaks a rule of the IPS (" + "; ".join(problems[:3]) + ").")
    return bundle


def _one_patient(
    selection: Selection, chosen: Sequence[Candidate], supporting: Sequence[tuple[Mapping[str, Any], int]]
) -> None:
    """Refuse a summary that would reference two Patients: every Patient that an item, or anything it brings
    along, refers to must be one of the selection's person's Patients in that item's own source."""
    person = selection.person
    if person is None:
        raise ShareError("Carry will not build a summary without knowing whose it is; choose the person first.")
    for resource, source_id in [*((c.resource, c.source_id) for c in chosen), *supporting]:
        for rtype, rid in literal_references(resource):
            if rtype == "Patient" and not person.admits(source_id, f"Patient/{rid}"):
                raise ShareError(f"Carry will not build this summary: an item is not about {person.name}, and a "
                                 "summary holds exactly one person.")  # fmt: skip


def build_check_in(record: Record, selection: Selection, *, now: datetime | None = None) -> dict[str, Any]:
    """The Kill the Clipboard PatientSharedBundle of the picked items; refused when it breaks a rule of the profile."""
    chosen = selection.chosen()
    supporting = _supporting(record, chosen)
    _one_patient(selection, chosen, supporting)
    bundle = build_ktc(selection.patient, [c.resource for c in chosen], supporting=[r for r, _ in supporting],
                       now=now, sources=_origins(record, chosen, supporting),
                       notes=_patient_notes(record, chosen))  # fmt: skip
    problems = check_ktc(bundle)
    if problems:
        raise ShareError("Carry will not share these records: they break a rule of the check-in profile ("
                         + "; ".join(problems[:3]) + ").")  # fmt: skip
    return bundle


def create_share(
    record: Record,
    host: ShareHost,
    selection: Selection,
    *,
    label: str | None = None,
    passcode: str | None = None,
    expires: int | None = None,
    now: datetime | None = None,
    kind: str = IPS,
) -> MadeShare:
    """Build the IPS of the picked items (or, for CHECK_IN, the Kill the Clipboard Bundle), encrypt it, publish it
    on the host, and keep the link in the record."""
    if kind not in (IPS, CHECK_IN):
        raise ShareError(f"{kind!r} is not a kind of share; use {IPS} or {CHECK_IN}.")
    if kind == CHECK_IN and passcode:
        raise ShareError("A link for a clinic's check-in scanner cannot have a passcode; the scanner cannot type one.")
    if kind == CHECK_IN and expires is None:
        raise ShareError("A link for a clinic's check-in scanner must expire (15 minutes on screen, 48 hours printed).")
    if not selection.picked:
        raise ShareError("Nothing is picked; choose at least one item to share.")
    if label is not None and len(label) > 80:
        raise ShareError("The label may be at most 80 characters long.")
    if passcode is not None and len(passcode) < 4:
        raise ShareError("Choose a passcode of at least 4 characters.")
    if expires is not None and expires <= time.time():
        raise ShareError("The expiry must be in the future.")
    moment = now or datetime.now(timezone.utc)
    bundle = build_check_in(record, selection, now=moment) if kind == CHECK_IN else build_summary(record, selection, now=moment)
    fhir_json = dumps(bundle)
    state = ShareState(record)
    _private, public = state.access_keys()
    published = publish(
        host.store,
        host.public_base,
        [("application/fhir+json", fhir_json)],
        access_key=public,
        passcode=passcode or None,
        label=label or None,
        exp=expires,
        viewer=host.viewer_url,
        direct=kind == CHECK_IN,
    )
    shlink = published.uri.split("#", 1)[1] if "#" in published.uri else published.uri
    sources = sorted({s for c in selection.chosen() for s in c.sources})
    counts = selection.counts()
    try:
        state.add_link(link_id=published.link_id, payload=published.payload.to_json(), uri=published.uri,
                       label=label or None, flag=published.payload.flag, exp=published.payload.exp,
                       sections=counts, sources=sources, ips_text=fhir_json.decode("utf-8"))  # fmt: skip
    except BaseException:
        host.store.revoke(published.link_id)  # a link the record does not know could never be revoked
        raise
    png = qr_png(published.uri)
    pdf = _pdf(bundle, published.uri, png, sources, moment)
    return MadeShare(published.link_id, published.uri, shlink, label or None, published.payload.exp,
                     published.payload.flag, counts, bundle, fhir_json, png, qr_svg(published.uri), pdf,
                     host.reach_warning(), kind)  # fmt: skip


def _pdf(bundle: Mapping[str, Any], uri: str, png: bytes, sources: Sequence[str], moment: datetime) -> bytes:
    """The printable copy with the link's QR code: the IPS summary, or the check-in records' rendering."""
    if bundle.get("type") == "collection":
        return rendered_pdf(bundle, generated=moment, link=uri, qr_png=png)
    return summary_pdf(bundle, link=uri, qr_png=png, sources=sources, generated=moment)


def files_for(link: ShareLinkRow, *, now: datetime | None = None) -> tuple[bytes, bytes]:
    """(PDF, FHIR JSON) of a link made earlier, from what the record kept."""
    bundle = link.ips()
    pdf = _pdf(bundle, link.uri, qr_png(link.uri), list(link.sources), now or datetime.now(timezone.utc))
    return pdf, link.ips_text.encode("utf-8")


# --- the links, their accesses, revoking ------------------------------------------------------------------------


def merge_access(record: Record, host: ShareHost | None) -> list[AccessEntry]:
    """Read the sealed access entries the host collected, open those of this record's links, write them to the
    record and its audit log ("opened by … at …"), and let the host forget what is merged."""
    if host is None:
        return []
    state = ShareState(record)
    private = state.private_key()
    mine = state.link_ids()
    if private is None or not mine:
        return []
    cursor = state.cursor(host.remote)
    added: list[AccessEntry] = []
    while True:
        batch = host.store.access_since(cursor, 500)
        if not batch:
            break
        opened: list[tuple[int, AccessEntry]] = []
        for entry in batch:
            if entry.link_id not in mine:
                continue  # another record's link on the same machine: not ours to open or forget
            try:
                data = open_access(private, entry.sealed)
            except (ShareError, RecursionError):  # not sealed by this record's host, or JSON nested too deep
                continue
            opened.append((entry.cursor, AccessEntry.opened(entry.link_id, data)))
        cursor = batch[-1].cursor
        added += state.add_accesses(opened, cursor, host.remote)
        if len(batch) < 500:
            break
    _forget_merged(host, mine, cursor)
    host.purge()
    return added


def merge_access_quietly(record: Record, host: ShareHost | None = None) -> list[AccessEntry]:
    """merge_access on unlock: the host of this process, else the one in the data directory; a failure to read
    the host never stops an unlock (the entries wait on the host for the next one)."""
    from sync.errors import CarryError

    added: list[AccessEntry] = []
    try:
        hosts = ShareHost.every(record, host)
    except CarryError:
        return []
    for each in hosts:
        try:
            added += merge_access(record, each)
        except CarryError:
            continue
    return added


def _forget_merged(host: ShareHost, mine: set[str], cursor: int) -> None:
    """Let the host drop the entries this record has merged. forget_access drops everything up to a cursor, so it
    stops before the first entry of another record on the same host: that one waits for its own record."""
    upto = 0
    for entry in host.store.access_since(0, 1000):
        if entry.link_id not in mine or entry.cursor > cursor:
            break
        upto = entry.cursor
    if upto:
        host.store.forget_access(upto)


def share_links(record: Record) -> list[ShareLinkRow]:
    return ShareState(record).links()


def host_status(host: ShareHost | None, link: ShareLinkRow, now: float | None = None) -> str:
    """active / expired / revoked / disabled (no passcode attempts left) / not on this host."""
    moment = time.time() if now is None else now
    local = link.status(moment)
    if local != "active" or host is None:
        return local
    try:
        hosted = host.store.link(link.link_id)
    except CarryError:  # a Carry host that cannot be reached just now
        return "unknown: the Carry host could not be reached"
    if hosted is None:
        return "not on this computer's share host" if host.remote is None else f"not on the Carry host {host.remote}"
    if hosted.revoked:
        return "revoked"
    if hosted.attempts_left is not None and hosted.attempts_left <= 0:
        return "disabled after wrong passcodes"
    return "active"


def host_of(hosts: Sequence[ShareHost], link: ShareLinkRow) -> ShareHost | None:
    """The host among `hosts` a link was made on (the first, when none says so)."""
    return next((h for h in hosts if h.holds(link)), hosts[0] if hosts else None)


def revoke(record: Record, host: ShareHost | None, which: str) -> ShareLinkRow:
    """Revoke a link at once: the host drops its ciphertext and answers 404 from now on."""
    state = ShareState(record)
    link = state.link(which)
    if host is None or not host.holds(link):  # made before the patient moved their links to another host
        host = next((h for h in ShareHost.every(record) if h.holds(link)), host)
    if host is not None:
        try:
            host.store.revoke(link.link_id)
        except ShareHostError as exc:
            raise ShareError(f"Carry could not revoke the link on the share host ({exc}); nothing was changed.",
                             action=exc.action) from exc  # fmt: skip
    state.mark_revoked(link.link_id)
    return state.link(link.link_id)


# --- receiving ---------------------------------------------------------------------------------------------------


async def open_shared(
    shlink: str, *, recipient: str, passcode: str | None = None, http: Any = None, now: float | None = None
) -> ReceivedShare:
    """Open a link someone shared; `now` (the time, by default the clock's) decides whether it has expired."""
    if not shlink.strip():
        raise LinkError("Paste the shared link (it starts with shlink:/ or holds #shlink:/).")
    return await open_link(shlink, recipient=recipient, passcode=passcode or None, http=http, now=now)


def received_sections(received: ReceivedShare) -> list[tuple[str, str, list[Any], str | None]]:
    """What a received summary shows: the sections of every IPS document or check-in collection in it."""
    out: list[tuple[str, str, list[Any], str | None]] = []
    for bundle in received.bundles:
        out += summary_rows(bundle)
    return out


def received_person(received: ReceivedShare) -> str:
    """Whose summary it is, first wherever a received summary is shown: "Name, born 1953-06-02, female"."""
    for bundle in received.bundles:
        for entry in bundle.get("entry") or []:
            resource = entry.get("resource") if isinstance(entry, Mapping) else None
            if isinstance(resource, Mapping) and resource.get("resourceType") == "Patient":
                parts = [patient_name(resource)]
                if isinstance(resource.get("birthDate"), str):
                    parts.append(f"born {resource['birthDate']}")
                if isinstance(resource.get("gender"), str):
                    parts.append(str(resource["gender"]))
                return ", ".join(parts)
    return "The link does not say whose records these are."


def keep_received(record: Record, received: ReceivedShare, *, name: str | None = None) -> tuple[str, UpsertCounts]:
    """Keep what a link held as a read-only source of kind 'shared' ("Shared: <label>")."""
    if not received.documents:
        raise ShareError("The link held nothing Carry can keep.")
    title = (name or received.label or "summary").strip()[:80]
    source = record.source(f"Shared: {title}", kind="shared")
    run_id = record.start_run(source.id, "shared", "SMART Health Link")
    counts = UpsertCounts()
    for document in received.documents:
        record.store_resources(source.id, run_id, document.resources, counts)
    record.finish_run(run_id, counts)
    record.audit("share-keep", source=source.name, imported=counts.imported, updated=counts.updated)
    return source.name, counts


# --- write-back: sending to a connected portal that accepts it ------------------------------------------------------


@dataclass(frozen=True)
class WritebackTarget:
    """A connected portal, and whether it takes the summary (a DocumentReference) and vital signs (Observation)."""

    source_id: int
    name: str
    summary: bool
    summary_reason: str
    vitals: bool
    vitals_reason: str


async def writeback_targets(portals: Any) -> list[WritebackTarget]:
    """Every connected portal with what it accepts (one CapabilityStatement read each)."""
    out = []
    for conn in await asyncio.to_thread(portals.sources):
        if conn.status != "connected":
            continue
        try:
            support = await portals.write_support(conn.id, ("DocumentReference", "Observation"))
        except CarryError as exc:
            out.append(WritebackTarget(conn.id, conn.name, False, str(exc), False, str(exc)))
            continue
        (doc_ok, doc_why), (obs_ok, obs_why) = support["DocumentReference"], support["Observation"]
        out.append(WritebackTarget(conn.id, conn.name, doc_ok, doc_why, obs_ok, obs_why))
    return out


async def _accepting(portals: Any, which: str | int, rtype: str) -> Any:
    conn = await asyncio.to_thread(portals.source, which)
    ok, why = (await portals.write_support(conn.id, (rtype,)))[rtype]
    if not ok:
        raise ShareError(f"{conn.name}: {why}")
    return conn


async def send_summary(
    portals: Any, which: str | int, ips_bundle: Mapping[str, Any], *, person: Person | None = None
) -> str:
    """Send the summary to a portal that accepts DocumentReference creates; returns where it was filed. With
    `person` (whose summary it is), only to a portal of that person: never into another person's chart."""
    from sync.share import summary_document

    conn = await _accepting(portals, which, "DocumentReference")
    if person is not None and not person.admits(conn.id, f"Patient/{conn.patient_id}"):
        raise ShareError(f"{conn.name} holds another person's record; a summary of {person.name} goes only to their "
                         "own portals.")  # fmt: skip
    location: str = await portals.create_resource(conn.id, summary_document(ips_bundle, conn.patient_id))
    return location


async def send_note(portals: Any, note_id: int | str) -> tuple[str, str]:
    """Send the patient's note to the portal its item came from, where that portal accepts DocumentReference
    creates; returns (the portal's name, where it filed the note). A note on an item from a file, a shared link
    or a disconnected portal has nowhere to go, and Carry says so."""
    from sync.share import patient_note

    record = portals.record
    note = await asyncio.to_thread(find_note, record, note_id)
    if not note.current:
        raise ShareError(f"Note {note.id} was changed or deleted; send its current version.")
    connected = {c.id: c for c in await asyncio.to_thread(portals.sources)}
    conn = connected.get(note.source_id) if note.source_id is not None else None
    if conn is None:
        raise ShareError(f"Note {note.id} is about an item from {note.source or 'a source no longer in the record'}, "
                         "which is not a connected portal; a note goes only to the portal its item came from.")
    conn = await _accepting(portals, conn.id, "DocumentReference")
    stored = await asyncio.to_thread(record.get, note.item_type, note.item_id, conn.id)
    about = stored.row.display if stored is not None else note.item_type
    resource = patient_note(PatientNote((note.item_type, note.item_id), note.text, note.created_at, about),
                            conn.patient_id)  # fmt: skip
    location: str = await portals.create_resource(conn.id, resource)
    return conn.name, location


async def send_vital_sign(portals: Any, which: str | int, kind: str, value: str) -> str:
    """Send one patient-measured vital sign to a portal that accepts Observation creates."""
    from sync.share import vital_sign

    conn = await _accepting(portals, which, "Observation")
    resource = vital_sign(kind, value, conn.patient_id)
    location: str = await portals.create_resource(conn.id, resource)
    return location
