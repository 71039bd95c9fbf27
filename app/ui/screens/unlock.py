"""Later runs: type the passphrase to unlock; a wrong one says so and nothing else happens."""

from __future__ import annotations

import flet as ft

from ..hooks import component, use_app_state, use_session, use_value
from ..theme import PRIMARY
from ..widgets import banner, heading, muted, primary_button
from .common import PassphraseField
from .entry import entry_frame

__all__ = ["Unlock"]


@component
def Unlock() -> ft.Control:
    session = use_session()
    state = use_app_state()
    typed = use_value("")
    busy, set_busy = ft.use_state(False)
    error, set_error = ft.use_state("")
    attempts, set_attempts = ft.use_state(0)

    async def unlock() -> None:
        if busy:
            return
        set_busy(True)
        set_error("")
        passphrase, typed.current = typed.current, ""
        try:
            await session.unlock(passphrase)
        except Exception as exc:  # noqa: BLE001 - shown in place
            set_error(session.message_for(exc))
            set_attempts(attempts + 1)
            set_busy(False)

    status: ft.Control | None = None
    if busy and state.updating is not None:  # a record from an older Carry: updated once, which can take a while
        status = _updating(state.updating, state.update_tidying)
    elif busy:
        status = muted("Unlocking…")
    elif error:
        status = banner(error, "alert", identifier="unlock-error")
    elif state.lock_notice:
        status = banner(state.lock_notice, "info", identifier="lock-notice")
    return entry_frame(
        ft.context.page.width,
        heading("Unlock your record"),
        muted("Your record is encrypted. Type your passphrase to open it."),
        PassphraseField("Passphrase", "unlock-passphrase", typed.set, on_submit=session.act(unlock), autofocus=True,
                        clear=attempts),  # fmt: skip
        status,
        primary_button("Unlock", session.act(unlock), "unlock", icon=ft.Icons.LOCK_OPEN, disabled=busy),
    )


def _updating(percent: int, tidying: bool) -> ft.Control:
    """What the unlock screen says while the record is updated for this version of Carry: how far, in words and a
    bar (its label says the percent to a screen reader); `tidying`: the update is rewriting the record file."""
    step = ": tidying the record file…" if tidying else "…"
    return ft.Column(
        [
            # The number and its % kept on one line (a no-break space).
            muted(f"Updating your record for this version of Carry{step} {percent}\u00a0%"),
            ft.ProgressBar(value=percent / 100, bar_height=5, border_radius=3, color=PRIMARY,
                           semantics_label=f"Record update {percent}\u00a0%"),  # fmt: skip
            muted("This happens once, after Carry was updated. Should it stop halfway, nothing is lost: it goes on "
                  "at the next unlock."),
        ],
        spacing=8,
    )
