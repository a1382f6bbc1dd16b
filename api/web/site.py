"""The site of the people's pages: their routers, assets, error pages and the offline docs.

``install_pages(app)`` mounts the static files, the offline API docs, the pages' routers and
the handlers that turn errors on a page into an error page (and a missing session into the
sign-in page). A new page is a route that returns ``render(request, "x.html", session)``
(api.web.render) from a router listed in ``ROUTERS``; its template extends ``layout.html``
and, when it uses htmx (vendored, see scripts/vendor-assets), loads it in ``{% block head %}``
(app.js already adds the session's CSRF token to htmx's requests).
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from api.web import account, admin_storage, items, review, teacher
from api.web.deps import SignInRequiredError, WrongRoleError
from api.web.render import STATIC_DIR, here, render, static_url

#: the pages' routers, in the order they are matched
ROUTERS = [account.router, review.router, items.router, teacher.router, admin_storage.router]

#: paths that answer machines (problem+json), never pages
_MACHINE_PREFIXES = ("/api/", "/static/", "/docs", "/openapi.json", "/healthz", "/readyz")


def is_page_path(path: str) -> bool:
    """True for the paths of the people's pages (errors there are pages too)."""
    return not path.startswith(_MACHINE_PREFIXES) and path != "/metrics"


class CachedStaticFiles(StaticFiles):
    """Static files; a versioned URL (``?v=``) is cached for a year, others for an hour."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            versioned = b"v=" in scope.get("query_string", b"")
            response.headers["Cache-Control"] = (
                "public, max-age=31536000, immutable" if versioned else "public, max-age=3600"
            )
            response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def error_page(request: Request, status: int, detail: str) -> Response | None:
    """An error on a page, as a page in the request's language; None for machine paths."""
    if not is_page_path(request.url.path):
        return None
    return render(request, "error.html", None, status=status, status_code=status, detail=detail)


def install_pages(app: FastAPI, public_docs: bool) -> None:
    """Add the pages, their assets and the offline API docs to ``app``."""
    app.mount("/static", CachedStaticFiles(directory=STATIC_DIR), name="static")
    app.state.error_page = error_page
    for router in ROUTERS:
        app.include_router(router)

    @app.exception_handler(SignInRequiredError)
    async def _sign_in_first(request: Request, exc: SignInRequiredError) -> Response:
        if request.headers.get("HX-Request"):
            # an htmx call from a page whose session ended: reload into the sign-in page
            return Response(status_code=401, headers={"HX-Redirect": "/sign-in"})
        return RedirectResponse(f"/sign-in?next={quote(here(request), safe='')}", 303)

    @app.exception_handler(WrongRoleError)
    async def _wrong_role(request: Request, exc: WrongRoleError) -> Response:
        return render(request, "error.html", None, status=404, status_code=404, detail="")

    if public_docs:

        @app.get("/docs", include_in_schema=False)
        def docs() -> HTMLResponse:
            """Swagger UI from the vendored swagger-ui-dist: works without internet."""
            return get_swagger_ui_html(
                openapi_url="/openapi.json",
                title="Bukti API",
                swagger_js_url=static_url("vendor/swagger-ui/swagger-ui-bundle.js"),
                swagger_css_url=static_url("vendor/swagger-ui/swagger-ui.css"),
                swagger_favicon_url=static_url("vendor/swagger-ui/favicon-32x32.png"),
                # the default sends the schema to validator.swagger.io for a badge
                swagger_ui_parameters={"validatorUrl": None},
            )
