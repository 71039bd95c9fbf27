"""Patient portals: connect (SMART standalone launch), sync, list and disconnect. The service layer that the CLI and
the UI both call.

Connecting is two steps so that both the CLI's loopback listener and the web app's own callback route can drive it:

    pending = await portals.begin_connect(base_url, redirect_uri)        # show pending.authorize_url to the patient
    connection = await portals.complete_connect(pending.state, query)     # the callback's query parameters

`connect_loopback()` runs both around a loopback listener (CLI and desktop). The PKCE verifier and the `state` stay
in this object's memory only; the tokens go straight into the encrypted record.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from sync.fhir import FHIRClient, FHIRError, ServerCapabilities
from sync.http import HttpClient, NetworkError
from sync.pull import PullOptions, SyncProgress, SyncReport, VendorQuirks, detect_vendor, load_quirks, pull
from sync.smart import (
    CALLBACK_PORT,
    DEVICE_AUTH,
    Diagnosed,
    DiscoveryError,
    FALLBACK_PORTS,
    REGISTRATIONS_FILE,
    ClientCredentials,
    ClientSettings,
    GrantedScope,
    LoopbackListener,
    NeedsReconnect,
    PendingAuthorization,
    SmartConfiguration,
    SmartError,
    StateMismatch,
    TokenError,
    TokenSession,
    TokenSet,
    begin_authorization,
    check_authorize_url,
    choose_scopes,
    complete_authorization,
    discover,
    load_registrations,
    missing_client,
    new_private_key,
    normalise_base,
    public_jwks,
    redirect_uri_for,
    refresh,
    register_device,
    renew_with_assertion,
    revoke,
)

from .errors import Action, CarryError
from .locations import config_dir
from .record import Record
from .record.portal_state import Connection, PortalState

if TYPE_CHECKING:
    from .record.checking import CheckResult

__all__ = [
    "Connection",
    "Disconnected",
    "PendingConnect",
    "PortalError",
    "Portals",
    "REGISTERED_REDIRECT",
    "SyncProgress",
    "SyncReport",
    "callback_port_for",
    "loopback_redirect_uri",
    "registrations_path",
]

REGISTERED_REDIRECT = redirect_uri_for(CALLBACK_PORT)  # what to register at a portal (the CLI's and desktop's default)


@dataclass(frozen=True)
class Disconnected:
    """What disconnecting did: Carry's tokens are always deleted; the portal may or may not have withdrawn access."""

    name: str
    revoked: bool  # the portal confirmed it withdrew Carry's access
    revocable: bool  # the portal has a revocation endpoint at all

    def sentence(self) -> str:
        if self.revoked:
            return f"Disconnected {self.name}: the portal withdrew Carry's access, and Carry deleted its tokens."
        if not self.revocable:
            return (
                f"Disconnected {self.name}: Carry deleted its tokens, but this portal offers apps no way to withdraw "
                "their access, so it still lists Carry as allowed until you remove Carry in the portal's own settings."
            )
        return (
            f"Disconnected {self.name}: Carry deleted its tokens, but the portal did not confirm that it withdrew "
            "Carry's access; check the list of apps in the portal's own settings."
        )


class PortalError(CarryError):
    """A portal operation that cannot go ahead as asked (not connected, needs reconnect, ...).

    `portal` names the connection and `base_url` is its FHIR base, for the renderers' "connect again"."""

    code = "portal.error"
    default_message = "{portal} cannot do that just now."

    def __init__(self, message: str | None = None, *, portal: str = "The portal", base_url: str = "",
                 action: Action | None = None) -> None:  # fmt: skip
        self.portal = portal
        self.base_url = base_url
        super().__init__(message, action=action)

    @property
    def fields(self) -> Mapping[str, object]:
        return {"portal": self.portal, "base_url": self.base_url}


@dataclass(frozen=True)
class PendingConnect:
    """What the UI needs to send the patient to the portal's login page. No secrets in here."""

    authorize_url: str
    state_id: str  # an opaque handle; not the OAuth state
    redirect_uri: str
    base_url: str
    vendor: str | None
    expires_at: float
    jwks: str | None = None  # private_key_jwt: the public keys to register at the portal, when Carry just made them


def registrations_path() -> Path:
    return config_dir() / REGISTRATIONS_FILE


def callback_port_for(base_url: str, asked: int | None = None) -> int:
    """The loopback port for a portal: the one asked for, else the one in clients.toml, else CALLBACK_PORT."""
    if asked is not None:
        return asked
    base = normalise_base(base_url)
    settings = load_registrations(registrations_path()).lookup(base, detect_vendor(base, ServerCapabilities()).key)
    return settings.callback_port if settings and settings.callback_port else CALLBACK_PORT


def loopback_redirect_uri(base_url: str, asked_port: int | None = None) -> str:
    """The exact redirect URI to register at a portal for the CLI's and desktop's loopback login."""
    return redirect_uri_for(callback_port_for(base_url, asked_port))


class Portals:
    """One per open record. Not thread-safe across event loops: use it from one loop (the CLI's or the UI's)."""

    def __init__(self, record: Record, *, concurrency: int = 4, timeout: float = 60.0) -> None:
        self.record = record
        self.state = PortalState(record)
        self.concurrency = concurrency
        self.timeout = timeout
        self._pending: dict[str, tuple[PendingAuthorization, str | None, VendorQuirks, ServerCapabilities]] = {}

    def __repr__(self) -> str:
        return f"<Portals record={self.record!r} pending={len(self._pending)}>"

    def _http(self) -> HttpClient:
        return HttpClient(concurrency=self.concurrency, timeout=self.timeout)

    # --- connect ---------------------------------------------------------------------------------------------

    async def begin_connect(
        self,
        base_url: str,
        redirect_uri: str,
        *,
        client_id: str | None = None,
        name: str | None = None,
        client_secret: str | None = None,
        scopes: Sequence[str] | None = None,
    ) -> PendingConnect:
        base = normalise_base(base_url)
        async with self._http() as http:
            try:
                config = await discover(http, base)
            except DiscoveryError:
                quirks = detect_vendor(base, await _capabilities(http, base))
                if quirks.key == "eclinicalworks":  # its practices each decide whether apps may connect
                    raise Diagnosed("patient_access_off", vendor=quirks.name or "eClinicalWorks", base_url=base) from None
                raise
            capabilities = await _capabilities(http, base)
        quirks = detect_vendor(base, capabilities)
        client, jwks = await asyncio.to_thread(self._credentials, config, quirks, client_id, client_secret)
        if scopes is None:
            per_type = (
                [*quirks.types, "Patient", "Binary", "Provenance", *quirks.reference_types]
                if quirks.scope_style == "per-type"
                else []
            )
            scopes = choose_scopes(config.capabilities, per_type=per_type, extra=quirks.extra_scopes)
        pending = begin_authorization(config, client, redirect_uri, list(scopes))
        handle = pending.state
        label = name or _default_name(capabilities, base)
        self._pending[handle] = (pending, label, quirks, capabilities)
        return PendingConnect(pending.authorize_url, handle, redirect_uri, base, quirks.name, pending.expires_at, jwks)

    async def complete_connect(self, pending: str | PendingConnect, params: Mapping[str, str]) -> Connection:
        """Finish a login from its callback's query parameters. Single use: the pending login is gone afterwards."""
        handle = pending.state_id if isinstance(pending, PendingConnect) else pending
        entry = self._pending.pop(handle, None)
        if entry is None:
            raise StateMismatch(
                "The portal's answer does not belong to a login Carry started (or it was already used); nothing was "
                "connected.",
                oauth_error="state_mismatch",
            )
        authorization, label, quirks, _caps = entry
        client = authorization.client
        config = authorization.config
        async with self._http() as http:
            try:
                result = await complete_authorization(http, authorization, params)
            except TokenError as exc:
                if exc.oauth_error != "invalid_client":
                    raise
                raise Diagnosed(
                    "invalid_client",
                    client_id=authorization.client.client_id,
                    developer_site=quirks.developer_site or "the portal's developer site",
                    redirect_uri=authorization.redirect_uri,
                ) from None
            tokens = result.tokens
            if config.registration_endpoint and client.auth_method == "none":
                # Epic's pattern for patient apps: a client of this device's own, renewed with its key. Where the
                # registration fails the connection stands as it is, renewed with refresh tokens.
                try:
                    client = await register_device(http, config, tokens.access_token, client.client_id)
                except SmartError:
                    pass
                else:
                    tokens = replace(tokens, refresh_token=None)  # unused from now on: not kept

        def save() -> Connection:
            before = self.state.find(config.base_url, result.patient_id)
            if before is not None and before.auth_method == DEVICE_AUTH and before.client_id != client.client_id:
                self.state.forget_client_secret(config.token_endpoint, before.client_id)  # the old device's key
            if client.auth_method == "client_secret_basic" and client.client_secret:
                self.state.save_client_secret(config.token_endpoint, client.client_id, client.auth_method, client.client_secret, None)
            if client.auth_method == DEVICE_AUTH and client.private_jwk:
                self.state.save_client_secret(
                    config.token_endpoint, client.client_id, DEVICE_AUTH, json.dumps(client.private_jwk), client.alg
                )
            return self.state.save_connection(
                name=label or config.base_url,
                base_url=config.base_url,
                patient_id=result.patient_id,
                vendor=quirks.key,
                client_id=client.client_id,
                auth_method=client.auth_method,
                granted_scope=result.granted.text,
                smart_config=config.to_json(),
                fhir_user=result.fhir_user,
                tokens=tokens,
            )

        return await asyncio.to_thread(save)

    def cancel_connect(self, pending: str | PendingConnect) -> None:
        self._pending.pop(pending.state_id if isinstance(pending, PendingConnect) else pending, None)

    async def connect_loopback(
        self,
        base_url: str,
        *,
        on_authorize_url: Callable[[str], None],
        client_id: str | None = None,
        name: str | None = None,
        client_secret: str | None = None,
        scopes: Sequence[str] | None = None,
        timeout: float = 300.0,
        callback_port: int | None = None,
        on_note: Callable[[str], None] | None = None,
    ) -> Connection:
        """The CLI and desktop flow: a listener on 127.0.0.1 receives the callback, on a stable port (see
        sync.smart.loopback); a port asked for (argument or clients.toml) gets no fallback."""
        port = callback_port_for(base_url, callback_port)
        fallback = FALLBACK_PORTS if port == CALLBACK_PORT and callback_port is None else ()
        async with LoopbackListener(port=port, fallback=fallback) as listener:
            if listener.fell_back and on_note is not None:
                on_note(
                    f"Port {port} is taken, so Carry listens at {listener.redirect_uri} instead; a portal that "
                    "matches redirect URIs exactly will refuse it."
                )
            pending = await self.begin_connect(
                base_url, listener.redirect_uri, client_id=client_id, name=name, client_secret=client_secret, scopes=scopes
            )
            authorization = self._pending[pending.state_id][0]
            listener.expect(authorization.state)
            try:
                async with self._http() as http:
                    await check_authorize_url(http, authorization)
                on_authorize_url(pending.authorize_url)
                params = await listener.wait(timeout)
            except BaseException:
                self.cancel_connect(pending)
                raise
        return await self.complete_connect(pending, params)

    def _credentials(
        self, config: SmartConfiguration, quirks: VendorQuirks, client_id: str | None, client_secret: str | None
    ) -> tuple[ClientCredentials, str | None]:
        path = registrations_path()
        registered = load_registrations(path).lookup(config.base_url, quirks.key)
        if client_id:
            settings = registered if registered and registered.client_id == client_id else ClientSettings(client_id)
            if client_secret and settings.auth_method == "none":
                settings = ClientSettings(client_id, "client_secret_basic")
        elif registered:
            settings = registered
        elif quirks.default_client_id:
            settings = ClientSettings(quirks.default_client_id)
        else:
            raise missing_client(quirks.name, quirks.developer_site, REGISTERED_REDIRECT, path, vendor_key=quirks.key)
        stored = self.state.client_secret(config.token_endpoint, settings.client_id)
        if settings.auth_method == "client_secret_basic":
            secret = client_secret or (stored[1] if stored and stored[0] == "client_secret_basic" else None)
            if not secret:
                raise PortalError(
                    f"The client {settings.client_id} authenticates with a client secret; give it once and Carry keeps "
                    "it in your encrypted record.",
                    base_url=config.base_url, action=Action.GIVE_CLIENT_SECRET,
                )
            return ClientCredentials(settings.client_id, settings.auth_method, settings.alg, client_secret=secret), None
        if settings.auth_method == "private_key_jwt":
            jwks = None
            if stored and stored[0] == "private_key_jwt" and stored[2] == settings.alg:
                key = json.loads(stored[1])
            else:
                key = new_private_key(settings.alg)
                self.state.save_client_secret(
                    config.token_endpoint, settings.client_id, "private_key_jwt", json.dumps(key), settings.alg
                )
                jwks = json.dumps(public_jwks(key))
            return ClientCredentials(settings.client_id, settings.auth_method, settings.alg, private_jwk=key), jwks
        return ClientCredentials(settings.client_id), None

    def client_jwks(self, token_endpoint: str, client_id: str) -> str | None:
        """The public JWKS of a private_key_jwt client (to register at the portal), if Carry has made its key."""
        stored = self.state.client_secret(token_endpoint, client_id)
        if not stored or stored[0] != "private_key_jwt":
            return None
        return json.dumps(public_jwks(json.loads(stored[1])))

    # --- sources ----------------------------------------------------------------------------------------------

    def sources(self) -> list[Connection]:
        return self.state.connections()

    def source(self, which: str | int) -> Connection:
        return self.state.connection(which)

    def last_report(self, which: str | int) -> SyncReport | None:
        reports = self.state.reports(self.state.connection(which).id, limit=1)
        return reports[0] if reports else None

    # --- sync -------------------------------------------------------------------------------------------------

    async def sync(
        self,
        which: str | int,
        *,
        full: bool = False,
        progress: Callable[[SyncProgress], None] | None = None,
    ) -> SyncReport:
        """Pull everything new from one portal into the record (resuming an interrupted sync first).

        Raises NeedsReconnect (a SmartError) when the portal no longer accepts Carry's tokens; the data stays.
        """
        conn = await asyncio.to_thread(self.state.connection, which)
        if conn.status == "disconnected":
            raise PortalError(f"{conn.name} is disconnected; connect it again to sync it.", portal=conn.name,
                              base_url=conn.base_url, action=Action.RECONNECT)  # fmt: skip
        if conn.status == "needs-reconnect":
            raise NeedsReconnect(
                f"{conn.name} needs to be connected again ({conn.status_reason or 'the portal refused the saved access'}). "
                "Your data from it is kept.",
                portal=conn.name,
                base_url=conn.base_url,
            )
        tokens = await asyncio.to_thread(self.state.tokens, conn.id)
        if tokens is None:
            raise NeedsReconnect(f"Carry holds no access for {conn.name}.", portal=conn.name, base_url=conn.base_url)
        quirks = load_quirks(conn.vendor)
        session = await self._session(conn, tokens)
        async with self._http() as http:
            fhir = FHIRClient(http, conn.base_url, session, accept=quirks.accept)
            try:
                statement = await fhir.read_json("metadata")
            except (FHIRError, NetworkError) as exc:
                reason = f"{conn.name} could not be reached ({exc})."
                await asyncio.to_thread(self.state.note_unreachable, conn.id, reason)
                raise PortalError(f"{reason[:-1]}; try again later.", portal=conn.name, base_url=conn.base_url,
                                  action=Action.RETRY) from None  # fmt: skip
            if conn.status_reason:
                await asyncio.to_thread(self.state.note_reached, conn.id)
            capabilities = ServerCapabilities.from_statement(statement)
            granted = GrantedScope(session.tokens.scope or conn.granted_scope)
            return await pull(
                fhir,
                self.state.pull_store(conn.id),
                patient_id=conn.patient_id,
                capabilities=capabilities,
                quirks=quirks,
                allows=granted.allows,
                options=PullOptions(full=full),
                progress=progress,
            )

    async def sync_checked(
        self,
        which: str | int,
        *,
        full: bool = False,
        progress: Callable[[SyncProgress], None] | None = None,
        checking: Callable[[int, int], None] | None = None,
    ) -> tuple[SyncReport, CheckResult]:
        """`sync`, with what it stores validated beside it as `carry sync` does (CheckWhileSyncing): once the sync
        has stored enough new or changed resources, worker processes validate the stored pages while later ones
        are fetched; what is left is validated when the fetch ends, before this returns, so nothing it stored is
        left unchecked and the invalid counts are in its run and report. `checking(done, total)` tells how that last
        part goes (called from a worker thread: (0, total) first, then after each chunk). A sync that fails has what
        it stored validated all the same, then its error is raised; a cancelled one leaves the rest unchecked for
        the next check."""
        from sync.fhir.parse import ValidationWorkers

        from .record.checking import CheckWhileSyncing, pending_count

        held = ExitStack()  # closed in a thread: stopping the checker and the workers waits for them
        workers = held.enter_context(ValidationWorkers())
        checker = held.enter_context(CheckWhileSyncing(self.record, workers))

        def rest() -> CheckResult:
            if checking is not None:
                checking(0, pending_count(self.record))
            return checker.finish(progress=checking)

        try:
            try:
                report = await self.sync(which, full=full, progress=checker.progress(progress))
            except Exception:
                try:
                    await asyncio.to_thread(rest)
                except Exception:  # noqa: BLE001, S110 - the sync's error is the one to tell; the next check retries
                    pass
                raise
            checked = await asyncio.to_thread(rest)
            # Every write of the sync is done (its pages, its validation): a sync that grew the record much is
            # followed by a rewrite of the file, on a thread of its own (Record.rewriting says how far it is).
            conn = await asyncio.to_thread(self.state.connection, which)
            await asyncio.to_thread(self.state.rewrite_after_syncs, [conn.id])
            return report, checked
        finally:
            await asyncio.to_thread(held.close)

    # --- write-back (sharing with a portal that accepts it) ----------------------------------------------------

    @asynccontextmanager
    async def _fhir(self, which: str | int) -> AsyncIterator[tuple[Connection, FHIRClient, TokenSession]]:
        """An authorised FHIR client for one connected portal (tokens refreshed and stored as sync does)."""
        conn = await asyncio.to_thread(self.state.connection, which)
        if conn.status != "connected":
            raise PortalError(f"{conn.name} is not connected; connect it again first.", portal=conn.name,
                              base_url=conn.base_url, action=Action.RECONNECT)  # fmt: skip
        tokens = await asyncio.to_thread(self.state.tokens, conn.id)
        if tokens is None:
            raise NeedsReconnect(f"Carry holds no access for {conn.name}.", portal=conn.name, base_url=conn.base_url)
        session = await self._session(conn, tokens)
        async with self._http() as http:
            yield conn, FHIRClient(http, conn.base_url, session, accept=load_quirks(conn.vendor).accept), session

    async def write_support(self, which: str | int, types: Sequence[str]) -> dict[str, tuple[bool, str]]:
        """Per resource type: (the portal accepts a create from Carry, why not). Reads its CapabilityStatement."""
        from sync.share import accepts

        async with self._fhir(which) as (conn, fhir, session):
            try:
                statement = await fhir.read_json("metadata")
            except (FHIRError, NetworkError) as exc:
                raise PortalError(f"{conn.name} cannot be reached right now ({exc}); try again later.") from None
            capabilities = ServerCapabilities.from_statement(statement)
            scope = session.tokens.scope or conn.granted_scope
            return {rtype: accepts(capabilities, scope, rtype) for rtype in types}

    async def create_resource(self, which: str | int, resource: Mapping[str, object]) -> str:
        """POST a resource the patient chose to send; returns where the portal filed it (its Location, if given)."""
        from sync.fhir import dumps

        async with self._fhir(which) as (conn, fhir, _session):
            try:
                response = await fhir.create(str(resource["resourceType"]), dumps(resource))
            except (FHIRError, NetworkError) as exc:
                raise PortalError(f"{conn.name} did not accept it: {exc}") from None
        await asyncio.to_thread(self.record.audit, "writeback", source=conn.id, type=str(resource["resourceType"]),
                                location=response.headers.get("location"))  # fmt: skip
        return response.headers.get("location") or response.headers.get("content-location") or ""

    async def _session(self, conn: Connection, tokens: TokenSet) -> TokenSession:
        """The token session of a connected source: renewed by refresh token, or by the device key's signed
        assertion for a client Carry registered for this device."""
        config = SmartConfiguration.from_json(conn.smart_config)
        client, _jwks = await asyncio.to_thread(self._stored_credentials, config, conn)
        store = self.state.token_store(conn.id)
        if client.auth_method == DEVICE_AUTH:

            async def renew() -> TokenSet:
                return await renew_with_assertion(config, client)

            return TokenSession(tokens, store, None, renew=renew)

        async def refresher(refresh_token: str) -> TokenSet:
            return await refresh(config, client, refresh_token)

        return TokenSession(tokens, store, refresher)

    def _stored_credentials(self, config: SmartConfiguration, conn: Connection) -> tuple[ClientCredentials, None]:
        if conn.auth_method == "none":
            return ClientCredentials(conn.client_id), None
        stored = self.state.client_secret(config.token_endpoint, conn.client_id)
        if stored is None:
            raise NeedsReconnect(f"The client credentials for {conn.name} are missing; connect it again.",
                                 portal=conn.name, base_url=conn.base_url)  # fmt: skip
        if conn.auth_method in ("private_key_jwt", DEVICE_AUTH):
            return ClientCredentials(conn.client_id, conn.auth_method, stored[2] or "ES384", private_jwk=json.loads(stored[1])), None
        return ClientCredentials(conn.client_id, conn.auth_method, client_secret=stored[1]), None

    # --- disconnect ----------------------------------------------------------------------------------------

    async def disconnect(self, which: str | int, *, forget: bool = False) -> Disconnected:
        """Revoke Carry's access at the portal where it offers revocation, and delete the tokens. With `forget`,
        also delete the source and every resource from it. Says whether the portal confirmed the revocation, and
        whether it has a way to revoke at all."""
        conn = await asyncio.to_thread(self.state.connection, which)
        tokens = await asyncio.to_thread(self.state.tokens, conn.id)
        revoked = False
        config = SmartConfiguration.from_json(conn.smart_config)
        if tokens is not None:
            try:
                client, _ = await asyncio.to_thread(self._stored_credentials, config, conn)
            except SmartError:
                client = ClientCredentials(conn.client_id)
            if tokens.refresh_token:
                revoked = await revoke(config, client, tokens.refresh_token, "refresh_token")
            access_revoked = await revoke(config, client, tokens.access_token, "access_token")
            revoked = revoked or access_revoked
        await asyncio.to_thread(self.state.disconnect, conn.id, forget=forget)
        if conn.auth_method == DEVICE_AUTH:  # the device key would get new tokens: it goes with them
            await asyncio.to_thread(self.state.forget_client_secret, config.token_endpoint, conn.client_id)
        return Disconnected(conn.name, revoked, bool(config.revocation_endpoint))


async def _capabilities(http: HttpClient, base: str) -> ServerCapabilities:
    try:
        response = await http.get(f"{base}/metadata", headers={"Accept": "application/fhir+json"})
        return ServerCapabilities.from_statement(json.loads(response.content)) if response.ok else ServerCapabilities()
    except (NetworkError, ValueError):
        return ServerCapabilities()


def _default_name(capabilities: ServerCapabilities, base: str) -> str:
    from urllib.parse import urlsplit

    return capabilities.name or capabilities.software or urlsplit(base).hostname or base
