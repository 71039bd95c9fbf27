"""Text that came from outside Carry (a share recipient's name, a portal's error_description, a file's label),
made safe to show in a terminal, a log line, the UI or a stored audit entry.

Every boundary where such text enters calls `plain_text` once, so what is stored afterwards is valid Unicode of a
bounded length with no control characters: a lone surrogate can no longer break an encoder later (the record's
access-log merge), and escape sequences or line floods can no longer reach the patient's terminal or audit log.
"""

from __future__ import annotations

import unicodedata

__all__ = ["DEFAULT_LIMIT", "plain_text"]

DEFAULT_LIMIT = 200

# Categories dropped outright: controls (Cc: C0, DEL, C1 such as CSI), format characters (Cf: bidi overrides,
# zero-width joiners that can disguise text), surrogates (Cs), private use (Co) and unassigned (Cn).
_DROPPED = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
# Separators that would break a line or a table cell become one ordinary space.
_SPACES = frozenset({"Zl", "Zp"})


def plain_text(value: object, *, limit: int = DEFAULT_LIMIT) -> str:
    """One line of printable text from `value`, at most `limit` characters (an ellipsis marks a cut).

    Non-strings become their str(); whitespace runs (newlines and tabs included) fold into one space; the result
    is stripped. Safe for any input: it never raises.
    """
    text = value if isinstance(value, str) else str(value)
    kept: list[str] = []
    pending_space = False
    for ch in text:
        category = unicodedata.category(ch)
        if ch.isspace() or category in _SPACES:
            pending_space = bool(kept)
            continue
        if category in _DROPPED:
            continue
        if pending_space:
            kept.append(" ")
            pending_space = False
        kept.append(ch)
        if len(kept) > limit:
            break
    if len(kept) > limit:
        return "".join(kept[: max(limit - 1, 0)]).rstrip() + "…"
    return "".join(kept)
