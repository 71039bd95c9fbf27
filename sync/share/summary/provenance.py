"""Where each shared item came from, said in FHIR: one Provenance per source (the portal or file the record got
the items from), naming that source as the custodian of its targets.

A separate resource rather than `meta.source` on each copy: the Kill the Clipboard profile sends "the chosen
resources as received" (ktc.md allows dropping `meta.profile`, nothing more), `meta.source` is a URI and so cannot
hold a source's readable name, and a portal may already have set it. Provenance is an R4 resource (and a US Core
profile), so a receiver files it like any other entry and the viewer, the PDF and `carry open` read it back.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["PARTICIPANT_TYPE", "provenances", "sources_by_target"]

PARTICIPANT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"


def provenances(targets: Mapping[str, Sequence[str]], recorded: str) -> list[dict[str, Any]]:
    """One Provenance per source name in `targets` (name -> the fullUrls of the entries it gave), in name order."""
    out = []
    for name in sorted(targets):
        urls = list(dict.fromkeys(targets[name]))
        if not name or not urls:
            continue
        out.append({
            "resourceType": "Provenance",
            "id": str(uuid.uuid4()),
            "target": [{"reference": url} for url in urls],
            "recorded": recorded,
            "agent": [{
                "type": {"coding": [{"system": PARTICIPANT_TYPE, "code": "custodian", "display": "Custodian"}]},
                "who": {"display": name},
            }],
        })  # fmt: skip
    return out


def _source_name(provenance: Mapping[str, Any]) -> str:
    for agent in provenance.get("agent") or []:
        who = agent.get("who") if isinstance(agent, Mapping) else None
        if isinstance(who, Mapping) and isinstance(who.get("display"), str) and who["display"].strip():
            return str(who["display"]).strip()
    return ""


def sources_by_target(bundle: Mapping[str, Any]) -> dict[str, str]:
    """fullUrl (and TYPE/id) of each entry a Provenance in `bundle` names a source for -> that source's name."""
    by_url: dict[str, Mapping[str, Any]] = {}
    for entry in bundle.get("entry") or []:
        if isinstance(entry, Mapping) and isinstance(entry.get("fullUrl"), str) and isinstance(entry.get("resource"), Mapping):
            by_url[entry["fullUrl"]] = entry["resource"]
    out: dict[str, str] = {}
    for resource in by_url.values():
        if resource.get("resourceType") != "Provenance":
            continue
        name = _source_name(resource)
        for target in resource.get("target") or []:
            ref = target.get("reference") if isinstance(target, Mapping) else None
            if not name or not isinstance(ref, str):
                continue
            out.setdefault(ref, name)
            found = by_url.get(ref)
            if found is not None:
                out.setdefault(f"{found.get('resourceType')}/{found.get('id')}", name)
    return out
