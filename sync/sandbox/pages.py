"""The portal's HTML: the login, consent, error and app-access pages a patient sees in the browser.

Every value is escaped. Forms post back to the same origin; the pending request travels in a hidden field and is
only honoured together with the browser's session cookie.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

__all__ = ["consent_page", "error_page", "login_page", "manage_page", "manage_login_page", "message_page"]

_STYLE = """
body{font-family:system-ui,sans-serif;background:#f4f6f8;color:#1c2733;margin:0}
header{background:#0b5c8a;color:#fff;padding:14px 24px;font-size:1.2em}
main{max-width:34em;margin:32px auto;background:#fff;padding:24px 32px;border-radius:8px;
box-shadow:0 1px 4px rgba(0,0,0,.15)}
label{display:block;margin:12px 0 4px}input[type=text],input[type=password]{width:100%;padding:8px;
box-sizing:border-box}button{padding:8px 18px;margin:16px 8px 0 0}.error{color:#a4161a;font-weight:600}
.hint{font-size:.9em;color:#55606b;border-top:1px solid #dde;margin-top:24px;padding-top:8px}
ul.scopes{list-style:none;padding:0}ul.scopes li{margin:8px 0}code{font-size:.85em;color:#55606b}
"""


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)} - Carry Demo Hospital</title><style>{_STYLE}</style></head>"
        f"<body><header>Carry Demo Hospital &middot; patient portal</header><main>{body}</main></body></html>"
    )


def login_page(
    request_id: str, app_name: str, *, error: str | None = None, hints: Sequence[tuple[str, str, str]] = ()
) -> str:
    notice = f'<p class=error role=alert>{escape(error)}</p>' if error else ""
    hint = ""
    if hints:
        rows = "".join(
            f"<li>{escape(name)}: <code>{escape(user)}</code> / <code>{escape(password)}</code></li>"
            for name, user, password in hints
        )
        hint = f"<div class=hint><p>Demo patients (synthetic data):</p><ul>{rows}</ul></div>"
    body = (
        f"<h1>Sign in</h1><p><strong>{escape(app_name)}</strong> wants to connect to your health record.</p>"
        f"{notice}<form method=post action=login>"
        f'<input type=hidden name=request value="{escape(request_id)}">'
        '<label for=username>Username</label><input type=text id=username name=username autocomplete=username '
        "autofocus required>"
        '<label for=password>Password</label><input type=password id=password name=password '
        "autocomplete=current-password required>"
        "<button type=submit>Sign in</button></form>"
        f"{hint}"
    )
    return _page("Sign in", body)


def consent_page(request_id: str, app_name: str, patient_name: str, scopes: Sequence[tuple[str, str]]) -> str:
    items = "".join(
        f'<li><label><input type=checkbox name=scope value="{escape(scope)}" checked> {escape(text)} '
        f"<code>{escape(scope)}</code></label></li>"
        for scope, text in scopes
    )
    body = (
        f"<h1>Allow access?</h1><p>Signed in as <strong>{escape(patient_name)}</strong>.</p>"
        f"<p><strong>{escape(app_name)}</strong> asks to:</p>"
        f"<form method=post action=consent>"
        f'<input type=hidden name=request value="{escape(request_id)}">'
        f"<ul class=scopes>{items}</ul>"
        "<p>Untick anything you do not want to share.</p>"
        "<button type=submit name=decision value=approve>Allow</button>"
        "<button type=submit name=decision value=deny>Deny</button></form>"
    )
    return _page("Allow access", body)


def error_page(title: str, message: str) -> str:
    return _page(title, f"<h1>{escape(title)}</h1><p class=error>{escape(message)}</p>")


def message_page(title: str, message: str) -> str:
    return _page(title, f"<h1>{escape(title)}</h1><p>{escape(message)}</p>")


def manage_login_page(*, error: str | None = None) -> str:
    notice = f'<p class=error role=alert>{escape(error)}</p>' if error else ""
    body = (
        "<h1>Apps with access to your record</h1><p>Sign in to see and revoke them.</p>"
        f"{notice}<form method=post action=manage>"
        '<label for=username>Username</label><input type=text id=username name=username required>'
        '<label for=password>Password</label><input type=password id=password name=password required>'
        "<button type=submit>Sign in</button></form>"
    )
    return _page("Manage app access", body)


def manage_page(session: str, patient_name: str, grants: Sequence[tuple[str, str, str]]) -> str:
    if grants:
        rows = "".join(
            f"<li><strong>{escape(app)}</strong>: <code>{escape(scope)}</code>"
            f'<form method=post action="manage/revoke"><input type=hidden name=session value="{escape(session)}">'
            f'<input type=hidden name=grant value="{escape(grant_id)}"><button type=submit>Revoke</button></form></li>'
            for grant_id, app, scope in grants
        )
        listing = f"<ul class=scopes>{rows}</ul>"
    else:
        listing = "<p>No app has access to your record.</p>"
    return _page("Manage app access", f"<h1>Apps with access</h1><p>{escape(patient_name)}</p>{listing}")
