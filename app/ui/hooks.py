"""How components reach the session and load what they show.

    component            @ft.component, with the patient's text size applied to what the component returns
    SessionContext       the UiSession of this tab, provided by the root component
    use_session()        that UiSession (services and actions; never re-renders by itself)
    use_app_state()      the session's AppState, subscribed: the calling component renders again when it changes
    use_load(load, deps) call `load` on a worker thread after the first render and whenever `deps` or the record
                         change; returns a Loaded (the last data stays on screen while a newer load runs)
    use_title(text)      the heading the shell shows for this screen
    use_value(initial)   a mutable box kept across renders (what is typed: no render per keystroke)
    use_once(make)       a value made once per component (a file picker, a helper object)
    use_state(v)         ft.use_state, typed; use_optional(kind): state holding a `kind` or None

A screen is a component: it asks for data with use_load, keeps what the patient types in use_state, and acts
through session.act; it never mutates a control after returning it (Flet freezes what a component returned).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

import flet as ft
from flet.components.hooks.use_ref import MutableRef

from .appearance import scale_text
from .session import UiSession
from .state import AppState

__all__ = [
    "Loaded",
    "SessionContext",
    "TextScale",
    "component",
    "use_app_state",
    "use_load",
    "use_once",
    "use_optional",
    "use_session",
    "use_state",
    "use_title",
    "use_value",
]

T = TypeVar("T")
_F = TypeVar("_F", bound=Callable[..., Any])

SessionContext: ft.ContextProvider[UiSession | None] = ft.create_context(None)
TextScale: ft.ContextProvider[float] = ft.create_context(1.0)


def component(fn: _F) -> _F:
    """A Carry component: Flet's @ft.component, its returned controls at the patient's text size."""

    @functools.wraps(fn)
    def body(*args: Any, **kwargs: Any) -> Any:
        out = fn(*args, **kwargs)
        factor = ft.use_context(TextScale)
        if out is not None and factor != 1.0:
            for control in out if isinstance(out, list) else [out]:
                scale_text(control, factor)
        return out

    return ft.component(body)  # type: ignore[return-value]


class Box(Generic[T]):
    """A mutable value a component keeps across renders (use_value)."""

    __slots__ = ("current",)

    def __init__(self, value: T) -> None:
        self.current = value

    def set(self, value: T) -> None:
        """Keep `value` (a field's on_change that passes its text, as PassphraseField's does)."""
        self.current = value

    def typed(self, e: Any) -> None:
        """Keep what a TextField holds, from its change event (the field is never read at a click)."""
        self.current = str(e.control.value or "")  # type: ignore[assignment]


def use_value(initial: T) -> Box[T]:
    """A mutable box kept across renders (changing it renders nothing): what is typed, a counter, a handle."""
    ref: MutableRef[Box[T]] = ft.use_ref(None)
    if ref.current is None:
        ref.current = Box(initial)
    return ref.current


def use_once(make: Callable[[], T]) -> T:
    """A value made at the first render and kept for the component's life."""
    ref: MutableRef[Box[T]] = ft.use_ref(None)
    if ref.current is None:
        ref.current = Box(make())
    return ref.current.current


def use_state(initial: T) -> tuple[T, Callable[[T], None]]:
    """ft.use_state, typed (`initial` must not be callable: ft.use_state would call it)."""
    value, setter = cast(Any, ft.use_state)(initial)
    return cast(T, value), cast(Callable[[T], None], setter)


def use_optional(kind: type[T]) -> tuple[T | None, Callable[[T | None], None]]:
    """State that holds a `kind` or nothing (None at first)."""
    value, setter = cast(Any, ft.use_state)(None)
    return cast("T | None", value), cast(Callable[["T | None"], None], setter)


def use_session() -> UiSession:
    session = ft.use_context(SessionContext)
    if session is None:
        raise RuntimeError("A Carry component was rendered outside the session context.")
    return session


def use_app_state() -> AppState:
    session = use_session()
    # An Observable kept in use_state subscribes this component: it renders again when the state changes.
    state, _ = cast(Any, ft.use_state)(lambda: session.state)
    return cast(AppState, state)


@dataclass(frozen=True)
class Loaded(Generic[T]):
    data: T | None = None
    error: str | None = None  # a plain sentence when the last load failed
    loading: bool = True
    ready: bool = False  # data holds a completed load (data itself may be None, an item not found)


def use_load(load: Callable[[], T], deps: Sequence[Any]) -> Loaded[T]:
    """`load()` on a worker thread after the first render, and again when `deps` or the record's generation
    change. An older load that finishes after a newer one began is dropped."""
    session = use_session()
    state = use_app_state()
    result, set_result = ft.use_state(Loaded[T]())
    ticket = use_value(0)
    fn = use_value(load)  # the newest closure (a callable given to ft.use_ref would be called)
    fn.current = load

    async def go() -> None:
        ticket.current += 1
        mine = ticket.current
        set_result(lambda r: Loaded(r.data, None, True, r.ready))
        load_now = fn.current
        try:
            data = await session.run(load_now)
        except Exception as exc:  # noqa: BLE001 - said on the screen that asked
            if mine == ticket.current:
                message = session.message_for(exc)
                set_result(lambda r: Loaded(r.data, message, False, r.ready))
            return
        if mine == ticket.current:
            set_result(Loaded(data, None, False, True))

    ft.use_effect(go, [*deps, state.generation])
    return result


def use_title(text: str) -> None:
    """The shell's heading for the screen on show (set after the screen rendered, and when `text` changes)."""
    session = use_session()

    def set_title() -> None:
        if session.state.title != text:
            session.state.title = text

    ft.use_effect(set_title, [text])
