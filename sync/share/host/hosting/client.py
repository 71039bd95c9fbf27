"""The app's side of a standalone host: a ShareHostStore that lives on another machine, reached over the publish
API (hosting/api.py) with this device's credential. `publish`, `revoke` and the merge of sealed access entries
work on it unchanged; only ciphertext, flags, expiry, the scrypt hash of the passcode and the public access key
leave the app."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, NoReturn
from urllib.parse import quote

from ....errors import Action
from ....http import Response, is_https_or_loopback, request_blocking
from ....untrusted import plain_text
from ...errors import ShareHostError
from ..store import AccessRecord, HostedFile, HostedLink

__all__ = ["RemoteHostStore"]


class RemoteHostStore:
    def __init__(self, url: str, credential: str, *, timeout: float = 30.0) -> None:
        if not is_https_or_loopback(url):
            raise ShareHostError("A Carry host's address must start with https:// (or be this computer).")
        self.url = url.rstrip("/")
        self._credential = credential
        self.timeout = timeout

    def __repr__(self) -> str:  # never the credential
        return f"<RemoteHostStore {self.url!r}>"

    def _call(self, method: str, path: str, body: Any = None, *, missing_ok: bool = False) -> Any:
        response: Response = request_blocking(
            method, f"{self.url}/api{path}", headers={"Authorization": f"Bearer {self._credential}"}, json=body,
            timeout=self.timeout,
        )  # fmt: skip
        if response.status == 404 and missing_ok:
            return None
        if response.ok:
            try:
                return json.loads(response.content)
            except ValueError:
                raise ShareHostError(f"{self.url} did not answer as a Carry host does.") from None
        if response.status == 401:
            raise ShareHostError("The Carry host refused this device's publish credential (was the device removed?).",
                                 action=Action.SET_SHARE_HOST)  # fmt: skip
        try:
            said = json.loads(response.content).get("error")
        except (ValueError, AttributeError):
            said = None
        reason = plain_text(said, limit=200) if isinstance(said, str) else f"status {response.status}"
        raise ShareHostError(f"The Carry host refused: {reason}")

    def whoami(self) -> dict[str, Any]:
        """The device's name and usage on the host (checks the credential)."""
        answer: dict[str, Any] = self._call("GET", "/device")
        return answer

    def add_link(self, link: HostedLink, files: Sequence[HostedFile]) -> None:
        self._call("POST", "/links", {
            "id": link.id, "flag": link.flag, "exp": link.exp, "passcodeHash": link.passcode_hash,
            "attempts": link.attempts_left, "accessKey": link.access_key,
            "files": [{"contentType": f.content_type, "jwe": f.jwe, "lastUpdated": f.last_updated} for f in files],
        })  # fmt: skip

    def link(self, link_id: str) -> HostedLink | None:
        data = self._call("GET", f"/links/{quote(link_id, safe='')}", missing_ok=True)
        if data is None:
            return None
        return HostedLink(id=link_id, flag=str(data.get("flag", "")), exp=data.get("exp"),
                          attempts_left=data.get("attemptsLeft"), revoked=bool(data.get("revoked")))  # fmt: skip

    def revoke(self, link_id: str) -> bool:
        return self._call("DELETE", f"/links/{quote(link_id, safe='')}", missing_ok=True) is not None

    def access_since(self, cursor: int = 0, limit: int = 1000) -> list[AccessRecord]:
        data = self._call("GET", f"/access?after={int(cursor)}&limit={int(limit)}")
        entries = data.get("entries") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise ShareHostError(f"{self.url} did not answer as a Carry host does.")
        return [AccessRecord(int(e["cursor"]), str(e["link"]), str(e["sealed"])) for e in entries
                if isinstance(e, dict) and isinstance(e.get("cursor"), int)]  # fmt: skip

    def forget_access(self, upto: int) -> int:
        return int(self._call("POST", "/access/forget", {"upto": int(upto)}).get("forgotten", 0))

    def purge(self, now: float) -> int:
        return 0  # the host purges on its own schedule

    # What only the host itself does: the doctor's side of a link. Here for the Protocol's sake, refused.
    def _host_only(self) -> NoReturn:
        raise ShareHostError("Only the Carry host itself serves a link's files.")

    def files(self, link_id: str) -> list[HostedFile]:
        return self._host_only()

    def replace_files(self, link_id: str, files: Sequence[HostedFile]) -> None:
        raise ShareHostError("A link on a Carry host cannot have its content replaced yet; make a new link.")

    def spend_attempt(self, link_id: str) -> int | None:
        return self._host_only()

    def return_attempt(self, link_id: str) -> None:
        self._host_only()

    def issue_location(self, token: str, link_id: str, index: int, expires: float) -> None:
        self._host_only()

    def take_location(self, token: str, now: float) -> tuple[str, int] | None:
        return self._host_only()

    def add_access(self, link_id: str, sealed: str) -> int:
        return self._host_only()
