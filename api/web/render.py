"""One way to render a page: a Jinja2 template in the request's language, with the layout's
context (who is signed in, the CSRF token, the language switch, asset URLs) filled in.

Every template extends ``layout.html`` and gets:

- ``_("text", name=value)``: translated text (see api.web.i18n);
- ``t``: the request's :class:`~api.web.i18n.Translator` (``t.moment(at, zone)``, ``t.number``);
- ``user``: the signed-in :class:`~api.auth.Principal` or None; ``csrf_token`` for forms
  (``{{ csrf_field() }}`` writes the hidden field);
- ``static("app.css")``: the asset's URL, versioned by its content so browsers cache it.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from api.web.csrf import CSRF_FIELD, set_pre_session_cookie
from api.web.i18n import LANGUAGE_COOKIE, LANGUAGE_NAMES, LOCALES, Translator, negotiate
from api.web.sessions import SignedIn
from api.web.words import SEVERITIES, STATUSES, word

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

# Pages load nothing from another host, run no inline script and no inline style; the
# teacher's pages add their app's manifest and the service worker that takes shared files.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "style-src 'self'; script-src 'self'; worker-src 'self'; manifest-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}

_environment = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(["html", "svg"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@cache
def static_version(path: str) -> str:
    """The first digits of an asset's SHA-256: a new version gets a new URL."""
    data = (STATIC_DIR / path).read_bytes()
    return hashlib.sha256(data).hexdigest()[:12]


def static_url(path: str) -> str:
    """The URL of a static asset, versioned so that it may be cached for a year."""
    return f"/static/{path}?v={static_version(path)}"


def translator(request: Request) -> Translator:
    """The request's language: the switch's cookie, else Accept-Language, else Indonesian."""
    cached: Translator | None = getattr(request.state, "translator", None)
    if cached is None:
        locale = negotiate(
            request.headers.get("accept-language"), request.cookies.get(LANGUAGE_COOKIE)
        )
        cached = request.state.translator = Translator(locale)
    return cached


def here(request: Request) -> str:
    """The page's own path and query, for links that come back to it."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def render(
    request: Request,
    template: str,
    signed_in: SignedIn | None,
    *,
    status: int = 200,
    csrf_token: str | None = None,
    **values: Any,
) -> HTMLResponse:
    """Render ``template`` as a full page (or, for an htmx request, as it stands)."""
    t = translator(request)
    token = csrf_token or (signed_in.csrf_token if signed_in else "")

    def csrf_field() -> Markup:
        return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, token)

    context = {
        "request": request,
        "t": t,
        "_": t.gettext,
        "ngettext": t.ngettext,
        "locale": t.locale,
        "locales": [(code, LANGUAGE_NAMES[code]) for code in LOCALES],
        "user": signed_in.principal if signed_in else None,
        "csrf_token": token,
        "csrf_field": csrf_field,
        "static": static_url,
        "here": here(request),
        "status_name": lambda code: word(STATUSES, code, t),
        "severity_name": lambda code: word(SEVERITIES, code, t),
        **values,
    }
    html = _environment.get_template(template).render(context)
    response = HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)
    set_pre_session_cookie(request, response)
    return response


def render_fragment(template: str, **values: Any) -> str:
    """A template rendered on its own, outside a request (an inline SVG, a partial)."""
    return _environment.get_template(template).render(values)
