"""Sharing from the phone's gallery into Bukti: the installable app's manifest, its service
worker, and the share action's answer when no service worker caught it.

Android's share sheet offers installed web apps whose manifest has a ``share_target``; a
share is a multipart ``POST`` to :data:`SHARE_ACTION`. The service worker
(``static/share-worker.js``, served from ``/my/`` with the app's scope, which covers the
action)
keeps the shared files in the browser's Cache Storage and sends the phone on to the upload
page, which offers them in its usual flow: the teacher picks what they are for and sends
them through tus, with the session's CSRF token, like any other file. The server never
takes a shared file itself: a share that reaches it (the app installed but its worker not
yet running) is answered with a page saying what to do, and creates nothing.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from api.web.deps import OptionalSessionDep
from api.web.i18n import N_
from api.web.render import STATIC_DIR, render, static_url, translator
from api.web.teacher.uploads import ACCEPT

router = APIRouter()

#: where the share sheet posts (the manifest's ``share_target.action``)
SHARE_ACTION = "/my/share"
#: the multipart field the shared files arrive in
SHARED_FILES_FIELD = "files"
#: the app's pages: where it starts, what it keeps in its own window, and the service
#: worker's scope (the start page too, which browsers look for when offering to install)
APP_SCOPE = "/my"
#: the favicon's green
THEME_COLOR = "#0b5d4b"
#: file name in static/icons/ (made by scripts/make-icons) -> size and purpose
ICONS = {
    "bukti-192.png": ("192x192", "any"),
    "bukti-512.png": ("512x512", "any"),
    "bukti-maskable-512.png": ("512x512", "maskable"),
}

APP_NAME = N_("Bukti: teachers' evidence")
APP_DESCRIPTION = N_("Send the photos and documents of your TRK activities to Bukti.")


def manifest(language: str, name: str, description: str) -> dict[str, Any]:
    """The web app manifest: the teacher's pages as an app that takes shared files."""
    return {
        "id": APP_SCOPE,
        "name": name,
        "short_name": "Bukti",
        "description": description,
        "lang": language,
        "start_url": APP_SCOPE,
        "scope": APP_SCOPE,
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": THEME_COLOR,
        "icons": [
            {
                "src": static_url(f"icons/{file}"),
                "sizes": sizes,
                "type": "image/png",
                "purpose": purpose,
            }
            for file, (sizes, purpose) in ICONS.items()
        ],
        "share_target": {
            "action": SHARE_ACTION,
            "method": "POST",
            "enctype": "multipart/form-data",
            # what the upload page's picker takes, so that the share sheet offers no more
            "params": {"files": [{"name": SHARED_FILES_FIELD, "accept": ACCEPT.split(",")}]},
        },
    }


@router.get("/manifest.webmanifest")
def web_app_manifest(request: Request) -> Response:
    """The manifest, in the browser's language (a browser fetches it without cookies)."""
    t = translator(request)
    body = manifest(t.locale, t.gettext(APP_NAME), t.gettext(APP_DESCRIPTION))
    return JSONResponse(
        body,
        media_type="application/manifest+json",
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/share-worker.js")
def share_worker() -> Response:
    """The service worker's script; checked again on each visit, so a new one takes over.

    Served from /my/ so that it may take the app's scope; the header lets it take /my itself.
    """
    return Response(
        (STATIC_DIR / "share-worker.js").read_bytes(),
        media_type="text/javascript",
        headers={
            "Cache-Control": "no-cache",
            "Service-Worker-Allowed": APP_SCOPE,
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post("/share")
def share_without_worker(request: Request, session: OptionalSessionDep) -> Response:
    """A share that no service worker caught: say what to do; the files are not read.

    Nothing proves this request came from Bukti's own pages (a share sheet sends no CSRF
    token), so it must not create anything: the body is left unread.
    """
    return render(request, "teacher/share.html", session)


@router.get("/share")
def share_page() -> Response:
    """The share action asked for as a page: the upload page is where shared files go."""
    return RedirectResponse("/my/upload", 303)
