"""One vendor registry: the directory and sync recognise every server alike, and every vendor key used anywhere
(code, shipped data, README, clients.toml) is one of the registry's."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from app.portals import registrations_path
from sync.assets import ASSETS
from sync.directory import VENDOR_KEYS, guess_vendor_key, vendor_key
from sync.directory.slim import read_slim
from sync.directory.sources import load_sources
from sync.fhir import ServerCapabilities
from sync.pull import detect_vendor, load_quirks
from sync.smart import SmartError, load_registrations, missing_client
from sync.vendors import OTHER, vendors

ROOT = Path(__file__).resolve().parents[2]
KEYS = set(vendors()) | {OTHER}


def _hosts() -> list[tuple[str, str]]:
    return [(v.key, host) for v in vendors().values() for host in v.hosts]


@pytest.mark.parametrize(("key", "host"), _hosts(), ids=[h for _k, h in _hosts()])
def test_directory_and_sync_give_every_registered_host_the_same_vendor(key: str, host: str) -> None:
    for url in (f"https://{host}/fhir/r4", f"https://fhir.{host}/api/r4"):
        assert guess_vendor_key(url) == key
        assert detect_vendor(url).key == key


def test_veradigm_and_altera_are_two_vendors() -> None:
    # Allscripts split: its ambulatory products (FHIRPoint) became Veradigm, its hospital products Altera.
    assert detect_vendor("https://fhir.veradigm.com/r4").key == "veradigm"
    assert detect_vendor("https://x.fhirpoint.open.allscripts.com/fhirroute/fhir/1").key == "veradigm"
    assert detect_vendor("https://open.allscripts.com/fhir").key == "altera"
    assert vendor_key("Veradigm") == "veradigm" and vendor_key("Allscripts Healthcare") == "altera"


def test_a_vendor_registration_matches_the_vendors_portals(tmp_path: Path) -> None:
    clients = tmp_path / "clients.toml"
    clients.write_text('[vendor.veradigm]\nclient_id = "carry-at-veradigm"\n', encoding="utf-8")
    base = "https://fhir.veradigm.com/r4/practice-1"
    found = load_registrations(clients).lookup(base, detect_vendor(base).key)
    assert found is not None and found.client_id == "carry-at-veradigm"


def test_a_misspelt_vendor_in_clients_toml_is_a_plain_error(tmp_path: Path) -> None:
    clients = tmp_path / "clients.toml"
    clients.write_text('[vendor.verdigm]\nclient_id = "x"\n', encoding="utf-8")
    with pytest.raises(SmartError, match=r"^\[vendor\.verdigm\] in .* names no vendor Carry knows; use one of: epic"):
        load_registrations(clients)


def test_the_register_here_message_names_the_vendor_table_by_key() -> None:
    quirks = detect_vendor("https://fhir-myrecord.cerner.com/r4/abc")
    message = str(missing_client(quirks.name, quirks.developer_site, "http://127.0.0.1/oauth/callback",
                                 registrations_path(), vendor_key=quirks.key))  # fmt: skip
    assert "[vendor.oracle-health]" in message and "Oracle Health" in message


def test_software_names_and_loopback_are_recognised_from_the_registry() -> None:
    caps = ServerCapabilities.from_statement(
        {"resourceType": "CapabilityStatement", "software": {"name": "Epic"}, "fhirVersion": "4.0.1"}
    )
    assert detect_vendor("https://fhir.hospital.example/r4", caps).key == "epic"
    assert detect_vendor("http://127.0.0.1:8551/fhir").key == "sandbox"
    assert detect_vendor("https://fhir.hospital.example/r4").key == OTHER
    assert load_quirks(OTHER) == load_quirks(None) == load_quirks("no-such-vendor")


def test_the_directory_knows_exactly_the_registry_keys() -> None:
    assert set(VENDOR_KEYS) == KEYS


def _code_keys() -> set[str]:
    """String constants the code passes as a vendor key: vendor_key=..., load_quirks(...), [vendor....]."""
    found: set[str] = set()
    for path in [*ROOT.joinpath("app").rglob("*.py"), *ROOT.joinpath("sync").rglob("*.py")]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "vendor_key" and isinstance(node.value, ast.Constant):
                found.add(str(node.value.value))
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "load_quirks"
                    and node.args and isinstance(node.args[0], ast.Constant)):  # fmt: skip
                found.add(str(node.args[0].value))
    return found


def _readme_keys() -> set[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = set(re.findall(r"\[vendor\.([a-z-]+)\]", readme))
    for listing in re.findall(r"(?:`vendor_key` is one of|Vendor names:)(.*?)(?:\.\s|\(the same)", readme, re.S):
        found |= set(re.findall(r"`([a-z-]+)`", listing))
    return found


def test_every_vendor_key_used_anywhere_is_in_the_registry() -> None:
    code, readme = _code_keys(), _readme_keys()
    assert code and readme, "the scan found no keys: it no longer sees where keys are used"
    shipped = {p.vendor_key for p in read_slim(json.loads((ASSETS / "directory" / "providers.json").read_bytes()))}
    assert code - KEYS == set(), "keys in the code"
    assert readme - KEYS == set(), "keys in README.md"
    assert readme >= set(vendors()), "README.md lists every vendor"
    assert shipped - KEYS == set(), "keys in the shipped directory"


def test_every_downloaded_lists_vendor_is_recognised() -> None:
    for source in load_sources(ASSETS / "directory" / "sources.json"):
        assert vendor_key(source.vendor) in KEYS - {OTHER}, source.vendor


def test_the_registry_file_is_well_formed() -> None:
    table = json.loads((ASSETS / "vendor-quirks.json").read_text(encoding="utf-8"))
    for key, entry in table["vendors"].items():
        assert re.fullmatch(r"[a-z][a-z-]*", key) and key != OTHER
        assert entry["name"] and entry["match"], key
        assert set(entry["match"]) <= {"hosts", "host_prefixes", "paths", "software", "names", "loopback"}, key
