"""SMART Health Cards through `carry import`: HL7's example cards, verified against the example issuer's key set;
a tampered card and cards of unknown issuers kept as "not verified"; an issuer's keys fetched from a real server
on 127.0.0.1 and kept in the record; bad files refused with the record unchanged."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest
from importers.conftest import Files, refusal
from jwcrypto import jwk, jws
from support.records import PASSPHRASE

from app.record import Record
from app.record.imports import FileImportReport, import_path
from sync.importers.health_cards import NOT_VERIFIED, VERIFICATION_SYSTEM, VERIFIED
from sync.importers.issuer_keys import cached_keys, keep_keys

DATA = Path(__file__).resolve().parent.parent / "data" / "shc"
EXAMPLE_ISSUER = "https://spec.smarthealth.cards/examples/issuer"
EXAMPLE_KEYS = json.loads((DATA / "issuer-jwks.json").read_text())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


def _card_file(path: Path, *tokens: str) -> Path:
    path.write_text(json.dumps({"verifiableCredential": list(tokens)}))
    return path


def _stored(record: Record) -> list[dict[str, Any]]:
    return [json.loads(raw) for (raw,) in record.read("SELECT resource_json(raw, type, id) FROM resource ORDER BY type, id")]


def _verification(resource: dict[str, Any]) -> str:
    [tag] = [t["code"] for t in resource["meta"]["tag"] if t["system"] == VERIFICATION_SYSTEM]
    return str(tag)


def _example_jws() -> str:
    return str(json.loads((DATA / "example-00-e-file.smart-health-card").read_text())["verifiableCredential"][0])


def _signed_card(issuer: str, key: jwk.JWK, birth_date: str = "1961-02-03") -> str:
    """A card like a pharmacy's, signed with our own P-256 key (jwcrypto, independent of what Carry verifies with)."""
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "resource:0", "resource": {"resourceType": "Patient", "name": [{"family": "Lind", "given": ["Ada"]}],
                                               "birthDate": birth_date}},
        {"fullUrl": "resource:1", "resource": {"resourceType": "Immunization", "status": "completed",
                                               "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "208"}]},
                                               "patient": {"reference": "resource:0"}, "occurrenceDateTime": "2021-04-01"}},
    ]}  # fmt: skip
    claims = {"iss": issuer, "nbf": 1617235200, "vc": {"type": ["https://smarthealth.cards#health-card"],
                                                       "credentialSubject": {"fhirVersion": "4.0.1", "fhirBundle": bundle}}}  # fmt: skip
    signed = jws.JWS(_deflate(json.dumps(claims, separators=(",", ":")).encode()))
    signed.add_signature(key, None, json.dumps({"alg": "ES256", "zip": "DEF", "kid": key.thumbprint()}))
    return str(signed.serialize(compact=True))


def _public_set(*keys: jwk.JWK) -> bytes:
    return json.dumps({"keys": [{**json.loads(k.export_public()), "kid": k.thumbprint(), "use": "sig", "alg": "ES256"}
                                for k in keys]}).encode()  # fmt: skip


def test_hl7_example_card_is_verified_with_its_issuers_keys(record: Record) -> None:
    keep_keys(record, EXAMPLE_ISSUER, EXAMPLE_KEYS)
    report = import_path(record, DATA / "example-00-e-file.smart-health-card", online=False)
    assert report.counts.imported == 4 and report.counts.invalid == 0
    assert isinstance(report, FileImportReport) and report.notes == ()
    stored = _stored(record)
    assert {_verification(r) for r in stored} == {VERIFIED}
    assert {r["meta"]["source"] for r in stored} == {EXAMPLE_ISSUER}
    [patient] = [r for r in stored if r["resourceType"] == "Patient"]
    assert patient["name"][0]["family"] == "Anyperson"
    shots = [r for r in stored if r["resourceType"] == "Immunization"]
    assert len(shots) == 3 and all(s["patient"]["reference"] == f"Patient/{patient['id']}" for s in shots)
    assert record.read("SELECT DISTINCT valid FROM resource") == [(1,)]


def test_card_of_an_unknown_issuer_is_kept_as_not_verified(record: Record) -> None:
    report = import_path(record, DATA / "example-00-e-file.smart-health-card", online=False)
    assert report.counts.imported == 4
    assert {_verification(r) for r in _stored(record)} == {NOT_VERIFIED}
    assert isinstance(report, FileImportReport) and report.notes == (
        f"A health card from {EXAMPLE_ISSUER} is not verified: its issuer's keys are not known to Carry, so its "
        "signature could not be checked.",
    )


def test_tampered_card_is_kept_but_never_shown_as_verified(record: Record, tmp_path: Path) -> None:
    keep_keys(record, EXAMPLE_ISSUER, EXAMPLE_KEYS)
    header, payload, signature = _example_jws().split(".")
    claims = json.loads(zlib.decompress(_unb64(payload), -zlib.MAX_WBITS))
    claims["vc"]["credentialSubject"]["fhirBundle"]["entry"][0]["resource"]["birthDate"] = "1971-01-20"
    forged = ".".join([header, _b64(_deflate(json.dumps(claims).encode())), signature])
    report = import_path(record, _card_file(tmp_path / "forged.smart-health-card", forged), online=False)
    stored = _stored(record)
    assert [r["birthDate"] for r in stored if r["resourceType"] == "Patient"] == ["1971-01-20"]
    assert {_verification(r) for r in stored} == {NOT_VERIFIED}
    assert isinstance(report, FileImportReport) and report.notes == (
        f"A health card from {EXAMPLE_ISSUER} is not verified: its signature does not match the keys kept for its "
        "issuer.",
    )


def test_qr_numbers_give_the_same_card_as_its_file(record: Record, tmp_path: Path) -> None:
    keep_keys(record, EXAMPLE_ISSUER, EXAMPLE_KEYS)
    first = import_path(record, DATA / "example-00-e-file.smart-health-card", online=False)
    again = import_path(record, DATA / "example-00-f-qr-code-numeric-value-0.txt", online=False)
    assert (first.counts.imported, again.counts.imported, again.counts.unchanged) == (4, 0, 4)
    # A card split over three QR codes: the three numbers, one per line, as a scanner app saves them.
    chunks = tmp_path / "scanned.txt"
    chunks.write_text("\n".join((DATA / f"example-02-f-qr-code-numeric-value-{n}.txt").read_text().strip()
                                for n in (2, 0, 1)) + "\n")  # fmt: skip
    chunked = import_path(record, chunks, online=False)
    token = (DATA / "example-02-d-jws.txt").read_text().strip()
    whole = import_path(record, _card_file(tmp_path / "02.smart-health-card", token), online=False)
    assert chunked.counts.imported > 0 and whole.counts.imported == 0 and whole.counts.unchanged == chunked.counts.imported
    assert {_verification(r) for r in _stored(record)} == {VERIFIED}


def test_issuer_keys_are_fetched_from_the_issuer_and_kept_in_the_record(
    record: Record, tmp_path: Path, issuer_server: Files
) -> None:
    key = jwk.JWK.generate(kty="EC", crv="P-256")
    issuer = issuer_server.base + "/issuer"
    issuer_server.bodies["/issuer/.well-known/jwks.json"] = _public_set(key)
    import_path(record, _card_file(tmp_path / "a.smart-health-card", _signed_card(issuer, key)))
    assert issuer_server.asked == ["/issuer/.well-known/jwks.json"]
    assert {_verification(r) for r in _stored(record)} == {VERIFIED}
    assert cached_keys(record, issuer) == json.loads(_public_set(key))
    # Kept: a second card of the same issuer is verified without asking again, even offline.
    issuer_server.bodies.clear()
    import_path(record, _card_file(tmp_path / "b.smart-health-card", _signed_card(issuer, key, "1961-02-04")), online=False)
    assert issuer_server.asked == ["/issuer/.well-known/jwks.json"]
    assert {_verification(r) for r in _stored(record)} == {VERIFIED}


def test_card_whose_issuer_publishes_other_keys_is_not_verified(
    record: Record, tmp_path: Path, issuer_server: Files
) -> None:
    signer, published = jwk.JWK.generate(kty="EC", crv="P-256"), jwk.JWK.generate(kty="EC", crv="P-256")
    issuer = issuer_server.base + "/issuer"
    issuer_server.bodies["/issuer/.well-known/jwks.json"] = _public_set(published)
    import_path(record, _card_file(tmp_path / "a.smart-health-card", _signed_card(issuer, signer)))
    assert issuer_server.asked == ["/issuer/.well-known/jwks.json"]
    assert {_verification(r) for r in _stored(record)} == {NOT_VERIFIED}


def test_offline_import_does_not_ask_the_issuer(record: Record, tmp_path: Path, issuer_server: Files) -> None:
    key = jwk.JWK.generate(kty="EC", crv="P-256")
    issuer_server.bodies["/issuer/.well-known/jwks.json"] = _public_set(key)
    import_path(record, _card_file(tmp_path / "a.smart-health-card", _signed_card(issuer_server.base + "/issuer", key)),
                online=False)  # fmt: skip
    assert issuer_server.asked == []
    assert {_verification(r) for r in _stored(record)} == {NOT_VERIFIED}


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'{"verifiableCredential": ["not.a.card"]}', "the health card could not be read: its content is damaged."),
        (b'{"verifiableCredential": []}', "the health card could not be read: it is not a SMART Health Card file."),
        (b"shc:/1/2/5676290952432060346029243740", "the health card could not be read: some of its QR parts are missing."),
        (b"shc:/567629095243206034602924374", "the health card could not be read: it is not SMART Health Card QR content."),
    ],
)
def test_bad_health_card_files_are_refused_and_change_nothing(
    record: Record, tmp_path: Path, content: bytes, reason: str
) -> None:
    import_path(record, DATA / "example-00-e-file.smart-health-card", online=False)
    bad = tmp_path / "card.txt"
    bad.write_bytes(content)
    assert refusal(record, bad) == f"card.txt: not imported: {reason}"


def test_carry_import_reads_a_health_card(tmp_path: Path) -> None:
    env = {**os.environ, "CARRY_RECORD": str(tmp_path / "cli.carry"), "CARRY_PASSPHRASE": PASSPHRASE,
           "CARRY_NEW_PASSPHRASE": PASSPHRASE}  # fmt: skip
    subprocess.run([sys.executable, "-m", "app.cli", "init"], env=env, check=True, capture_output=True)
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "import", "--offline", str(DATA / "example-00-e-file.smart-health-card")],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "example-00-e-file.smart-health-card: 4 new, 0 updated, 0 unchanged",
        f"  A health card from {EXAMPLE_ISSUER} is not verified: its issuer's keys are not known to Carry, so its "
        "signature could not be checked.",
    ]
