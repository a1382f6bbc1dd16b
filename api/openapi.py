"""The OpenAPI document, told true: every route's problem responses, and the upload's forms.

FastAPI documents a 422 with its own validation-error body and nothing else, while every
error here is an RFC 9457 problem (``application/problem+json``). :func:`document_problems`
adds to each operation the problem responses it can give, judged from what the route
depends on — so routes written later are documented without a line of theirs:

- 422 on every route (any query string is checked), 503 wherever the database is used;
- 401 wherever a bearer token is required; 403 where a role is required, and on writes;
- 404 where the path names a record, and on writes (they name other records);
- 409 on writes; 413 and 415 where the route declares them (uploads);
- the tus routes add tus's own answers (400, 404, 409, 410, 412, 413, 415) and 423 (an
  upload whose last bytes are being checked).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from api.deps import RoleCheck, get_db, get_principal, get_services
from api.problems import PROBLEM_JSON, PROBLEM_MEANINGS, Problem
from api.schemas import UPLOAD_FORMS, LinkIn

_WRITES = {"POST", "PUT", "PATCH", "DELETE"}
_TUS_PREFIX = "/api/v1/uploads"
_TUS_STATUSES = {400, 404, 409, 410, 412, 413, 415, 423}


def _calls(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def _api_routes(app: FastAPI) -> Iterator[Any]:
    """Each API route as included (prefix, dependencies and all), as OpenAPI sees it."""
    for context in routing.iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute):
            yield context


def problem_statuses(route: Any) -> set[int]:
    """The problem statuses ``route`` can answer, from its dependencies, method and path."""
    calls = set(_calls(route.dependant))
    write = bool(set(route.methods or ()) & _WRITES)
    statuses = {422}
    if calls & {get_db, get_services, get_principal}:
        statuses.add(503)
    if get_principal in calls:
        statuses.add(401)
        if write or any(isinstance(call, RoleCheck) for call in calls):
            statuses.add(403)
        if write or "{" in route.path_format:
            statuses.add(404)
        if write:
            statuses.add(409)
    statuses |= {int(code) for code in route.responses if str(code).isdigit() and int(code) >= 400}
    if route.path_format.startswith(_TUS_PREFIX):
        statuses |= _TUS_STATUSES
    return statuses


def _problem_response(status: int) -> dict[str, Any]:
    return {
        "description": PROBLEM_MEANINGS.get(status, "A problem"),
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        **(
            {"headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}}}
            if status in (423, 503)
            else {}
        ),
    }


def _component_schemas(models: list[type[Any]]) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return schemas


def upload_request_body() -> dict[str, Any]:
    """POST /evidence's body: a multipart form in one of its variants, or a JSON link.

    The form's fields are one object (the file part is streamed, so multipart clients and
    generators see plain properties); ``oneOf`` names the fields each variant requires.
    """
    properties: dict[str, Any] = {}
    variants = []
    for form in UPLOAD_FORMS:
        schema = form.model_json_schema()
        properties.update(schema["properties"])
        variants.append(
            {
                "title": form.__name__,
                "description": (form.__doc__ or "").strip(),
                "required": schema["required"],
            }
        )
    properties["file"] = {"type": "string", "format": "binary", "description": "the file"}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": properties,
                        "required": ["file"],
                        "oneOf": variants,
                    }
                },
                "application/json": {"schema": {"$ref": "#/components/schemas/LinkIn"}},
            },
        }
    }


def document_problems(app: FastAPI) -> None:
    """Make ``app.openapi()`` document every route's problems and the upload's forms."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        components = document.setdefault("components", {}).setdefault("schemas", {})
        components.update(_component_schemas([Problem, LinkIn]))
        for route in _api_routes(app):
            if not route.include_in_schema:
                continue
            for method in route.methods or ():
                operation = document["paths"][route.path_format].get(method.lower())
                if operation is None:
                    continue
                responses = operation.setdefault("responses", {})
                for status in sorted(problem_statuses(route)):
                    responses[str(status)] = _problem_response(status)
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
