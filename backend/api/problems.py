"""Errors as ``application/problem+json`` (RFC 9457) with a stable ``code``; never a trace."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("gpubarter.api")

PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """Raise from a route to answer with a problem document."""

    def __init__(self, status: int, code: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.extra = status, code, detail, extra


def problem_response(status: int, code: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": f"https://gpubarter.dev/problems/{code}", "title": code.replace("-", " "),
            "status": status, "code": code, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


_HTTP_CODES = {400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found",
               405: "method-not-allowed", 406: "not-acceptable", 409: "conflict",
               413: "request-too-large", 415: "unsupported-media-type", 429: "too-many-requests"}


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(_req: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc.status, exc.code, exc.detail, **exc.extra)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_req: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http-error")
        return problem_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_req: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        return problem_response(422, "invalid-request", "the request does not match the API schema",
                                errors=errors)

    @app.exception_handler(Exception)
    async def _unexpected(req: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", req.method, req.url.path)
        return problem_response(500, "internal-error", "the server failed; the error was logged")
