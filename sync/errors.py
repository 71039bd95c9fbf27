"""The root of every error Carry raises on purpose, and the one map of them all.

Every error Carry raises on purpose derives from `CarryError` and has:

- `code`: a stable, dotted name ("record.wrong-passphrase") that tests, reports and the two renderers match on.
  A code never changes once released; a new kind of failure gets a new subclass with a new code.
- typed fields: the values its message is made from (`NeedsReconnect.base_url`, `PasscodeRefused.remaining`, ...),
  also as a mapping in `fields`. Never a token, a passcode, a key or health data.
- a patient-facing message: `str(exc)`, a plain sentence for any medium (no command-line syntax, no Markdown);
  `default_message` is used when the raiser gives none.
- an `action`: what the patient can do next (an `Action`). The message does not say *how*: the command line
  words it as a command ("run `carry connect URL`") and the app as a sentence or a button ("Connect it again
  from Sources"); both renderers live in app/errors.py.

Anything else that escapes is a bug and is shown without details that could hold health data.

The tree (class, its code, where it lives). tests/house/test_error_codes.py walks app/ and sync/ and checks that
every CarryError subclass is listed here with its own code, so this map stays whole:

    CarryError ........................ carry.error ................ sync.errors
    ├── UsageError .................... cli.usage .................. app.errors
    ├── BodyTooLarge .................. request.too-large .......... sync.bounded_body
    ├── NetworkError .................. network.unreachable ........ sync.http          (RETRY)
    ├── ForeignURLRefused ............. network.foreign-url ........ sync.http
    ├── RegistryError ................. install.vendor-registry .... sync.vendors
    ├── ImportFailed .................. import.failed .............. sync.importers.errors
    ├── FHIRError ..................... fhir.error ................. sync.fhir.errors
    │   ├── FHIRFormatError ........... fhir.format ................ sync.fhir.errors
    │   └── RequestRefused ............ fhir.refused ............... sync.fhir.client
    │       ├── Unauthorized .......... fhir.unauthorized .......... sync.fhir.client   (RECONNECT)
    │       └── Throttled ............. fhir.throttled ............. sync.fhir.client   (RETRY)
    ├── SmartError .................... connect.error .............. sync.smart.errors
    │   ├── DiscoveryError ............ connect.discovery .......... sync.smart.errors
    │   ├── ClientNotConfigured ....... connect.no-client .......... sync.smart.errors
    │   ├── AuthorizationError ........ connect.authorization ...... sync.smart.errors  (`oauth_error`)
    │   │   ├── AuthorizationDenied ... connect.access-denied ...... sync.smart.errors
    │   │   ├── StateMismatch ......... connect.state-mismatch ..... sync.smart.errors
    │   │   └── AuthorizationTimeout .. connect.timeout ............ sync.smart.errors
    │   ├── TokenError ................ connect.token .............. sync.smart.errors  (`oauth_error`)
    │   ├── NeedsReconnect ............ portal.needs-reconnect ..... sync.smart.errors  (RECONNECT)
    │   ├── IdTokenInvalid ............ connect.id-token ........... sync.smart.errors
    │   └── Diagnosed ................. connect.diagnosed .......... sync.smart.diagnosis
    │                                   (an instance's code is "connect.<row>", one per row of DIAGNOSES)
    ├── ShareError .................... share.error ................ sync.share.errors
    │   ├── IPSError .................. share.summary .............. sync.share.errors
    │   ├── LinkError ................. share.link-invalid ......... sync.share.errors
    │   ├── DecryptionFailed .......... share.decryption-failed .... sync.share.errors
    │   ├── PasscodeRefused ........... share.passcode-refused ..... sync.share.errors  (`remaining`)
    │   ├── LinkInactive .............. share.link-inactive ........ sync.share.errors
    │   └── ShareHostError ............ share.host ................. sync.share.errors
    │       └── QuotaExceeded ......... share.host-quota ........... sync.share.errors
    ├── DirectoryError ................ directory.error ............ sync.directory.errors
    │   ├── ListFormatError ........... directory.list-format ...... sync.directory.errors
    │   └── RefreshFailed ............. directory.refresh-failed ... sync.directory.errors (RETRY)
    ├── SandboxError .................. sandbox.error .............. sync.sandbox.errors
    │   └── SandboxDataError .......... sandbox.data ............... sync.sandbox.errors
    ├── RecordError ................... record.error ............... app.record.errors
    │   ├── RecordNotFound ............ record.not-found ........... app.record.errors
    │   ├── RecordExists .............. record.exists .............. app.record.errors
    │   ├── NotARecord ................ record.not-a-record ........ app.record.errors
    │   ├── WrongPassphrase ........... record.wrong-passphrase .... app.record.errors  (UNLOCK_AGAIN)
    │   ├── PassphraseRefused ......... record.passphrase-refused .. app.record.errors
    │   ├── RecordBusy ................ record.busy ................ app.record.errors  (RETRY)
    │   ├── RecordFull ................ record.full ................ app.record.errors
    │   ├── RecordReadOnly ............ record.read-only ........... app.record.errors
    │   ├── ImportRefused ............. record.import-refused ...... app.record.errors
    │   ├── EntryRefused .............. record.entry-refused ....... app.record.errors
    │   ├── NoteError ................. record.note-refused ........ app.record.annotations
    │   ├── PreferenceRefused ......... record.preference-refused .. app.views.preferences
    │   ├── FactNotFound .............. record.fact-not-found ...... app.record.facts
    │   └── PersonError ............... record.person .............. app.record.people
    │       └── PersonNeeded .......... record.person-needed ....... app.record.people  (CHOOSE_PERSON, `merge_pairs`)
    ├── PortalError ................... portal.error ............... app.portals        (`portal`, `base_url`)
    ├── ServerError ................... server.error ............... app.server
    └── UploadFailed .................. ui.upload-failed ........... app.ui.uploads

The app/ classes are listed here although sync/ never imports app/: this is the one place a reader finds them all.
An action in brackets is the class's default; the others (SEE_PEOPLE, GIVE_CLIENT_SECRET, ...) are given where the
error is raised, and tests/house/test_error_wording.py checks that each renders for the app without a command.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import ClassVar

__all__ = ["Action", "CarryError"]


class Action(enum.Enum):
    """What the patient can do about an error. The CLI and the app each word it for their medium."""

    NONE = "none"  # nothing to do but read the message (or change what was asked)
    RETRY = "retry"  # the same thing again, later
    RECONNECT = "reconnect"  # connect the portal again (needs the error's `base_url`; `portal` names it)
    UNLOCK_AGAIN = "unlock-again"  # open the record again with the right passphrase
    CREATE_RECORD = "create-record"  # there is no record yet: make one
    CHOOSE_PERSON = "choose-person"  # the record holds several persons: say whose (`merge_pairs` may be one)
    SEE_PEOPLE = "see-people"  # a person was named who is not there: the persons are listed
    SEE_SOURCES = "see-sources"  # a connected portal was named that is not there
    SEE_SHARES = "see-shares"  # a shared link was named that is not there
    SEE_ENTRIES = "see-entries"  # one of the patient's own entries was named that is not there
    SEE_NOTES = "see-notes"  # a note was named that is not there
    SEE_FACTS = "see-facts"  # a fact (or a record of one, `fact_id`) was named that is not there
    SEE_SUMMARY_ITEMS = "see-summary-items"  # an item was named that a shared summary cannot hold
    GIVE_CLIENT_SECRET = "give-client-secret"  # the portal's client needs its secret once (`base_url`)
    SET_SHARE_HOST = "set-share-host"  # choose the Carry host again, with a (new) publish credential
    GET_PUBLISH_CREDENTIAL = "get-publish-credential"  # the Carry host's owner makes one for this device


class CarryError(Exception):
    """A failure with a message fit to show the patient as it is (see the module's docstring for the tree)."""

    code: str = "carry.error"
    default_message: ClassVar[str] = "Carry could not do that; nothing was changed."
    default_action: ClassVar[Action] = Action.NONE

    def __init__(self, message: str | None = None, *, action: Action | None = None) -> None:
        self.action: Action = action if action is not None else self.default_action
        super().__init__(self.default_message.format_map(_Known(self.fields)) if message is None else message)

    @property
    def fields(self) -> Mapping[str, object]:
        """The values the message is made from (the subclass's typed attributes); empty for most errors."""
        return {}

    @property
    def message(self) -> str:
        """The patient-facing sentence (the same as `str(exc)`)."""
        return str(self).strip() or type(self).__name__


class _Known(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "(not known)"
