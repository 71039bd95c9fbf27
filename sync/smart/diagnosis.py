"""Plain-language diagnosis of why connecting to (or syncing from) a portal failed: one table, one row per cause.

An error that is diagnosed carries its row (`diagnosis`), the code "connect.<row>" and the `fields` its sentences
need (never a token). The command line and the app word it from the same row: the app's sentence names no
command-line syntax.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .errors import SmartError

__all__ = ["DIAGNOSES", "Diagnosed", "Diagnosis"]


@dataclass(frozen=True)
class Diagnosis:
    """One row of the table: what the patient reads, on the command line and in the app."""

    cli: str
    app: str


DIAGNOSES: Mapping[str, Diagnosis] = {
    "invalid_client": Diagnosis(
        "The portal does not accept Carry's client id {client_id}: register Carry as a patient app at {developer_site} "
        "with the redirect URI {redirect_uri}, then give its client id with --client-id or in clients.toml.",
        "The portal does not accept Carry's client id {client_id}: register Carry as a patient app at {developer_site} "
        "with the redirect URI {redirect_uri}, then enter the client id it gives you.",
    ),
    "unknown_tenant": Diagnosis(
        "Oracle Health does not know the organisation in this address ({base_url}, unknown tenant): the provider "
        "list may be out of date; update it with `carry providers --refresh` and pick the portal again.",
        "Oracle Health does not know the organisation in this address ({base_url}): the provider list may be out of "
        "date; update it and pick the portal again.",
    ),
    "patient_access_off": Diagnosis(
        "This {vendor} practice has not turned on patient access for apps at {base_url}; ask the practice to enable "
        "it (it is a setting on their side), then connect again.",
        "This {vendor} practice has not turned on patient access for apps; ask the practice to enable it (it is a "
        "setting on their side), then connect again.",
    ),
    "token_html": Diagnosis(
        "The portal's token endpoint answered with a web page instead of tokens (it may be down for maintenance); "
        "try again later.",
        "The portal's token endpoint answered with a web page instead of tokens (it may be down for maintenance); "
        "try again later.",
    ),
    "tls": Diagnosis(
        "Carry could not make a secure connection to {host}: its certificate is not valid or not trusted, so nothing "
        "was sent; check the address, or try again on another network.",
        "Carry could not make a secure connection to {host}: its certificate is not valid or not trusted, so nothing "
        "was sent; check the address, or try again on another network.",
    ),
    "dns": Diagnosis(
        "The name {host} could not be found: check the address, and that this device is online.",
        "The name {host} could not be found: check the address, and that this device is online.",
    ),
    "refused_everywhere": Diagnosis(
        "The portal let Carry log in but refused every kind of record ({status}): it may not have turned on patient "
        "access for apps, or too little was allowed at login; run `carry connect {base_url}` again and allow access.",
        "The portal let Carry log in but refused every kind of record ({status}): it may not have turned on patient "
        "access for apps, or too little was allowed at login; connect again and allow access.",
    ),
}


class Diagnosed(SmartError):
    """An error with a row of the table. `str()` is the app's sentence; `cli_text()` the command line's.

    `diagnosis` is the row's key; the code is "connect.<row>" (a stored report may hold either form)."""

    code = "connect.diagnosed"

    def __init__(self, diagnosis: str, **fields: str) -> None:
        self.diagnosis = diagnosis.removeprefix(_PREFIX)
        self.code = _PREFIX + self.diagnosis
        self._fields: dict[str, str] = dict(fields)
        super().__init__(self.text(app=True))

    @property
    def fields(self) -> dict[str, str]:
        return self._fields

    def text(self, *, app: bool) -> str:
        row = DIAGNOSES[self.diagnosis]
        return (row.app if app else row.cli).format_map(_Fields(self.fields))

    def cli_text(self) -> str:
        return self.text(app=False)


_PREFIX = "connect."


class _Fields(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "(not known)"
