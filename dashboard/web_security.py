"""What every request and response goes through: security headers, a same-origin check on
state-changing requests, the sign-in form's CSRF token, a body size limit, and clear errors
(a one-line 400 for malformed input, the app's own page for 403/404/500/503)."""

from __future__ import annotations

import hmac
import secrets
from html import escape
from urllib.parse import urlsplit

import flask
from dash.exceptions import DependencyException
from flask import Flask, request
from werkzeug.exceptions import HTTPException, NotFound, RequestEntityTooLarge

from dashboard.filters import FilterError

# An upload is at most 10 MB (callbacks/data.py), sent base64-encoded inside a callback's
# JSON: 4/3 of that plus room for the rest of the body.
MAX_REQUEST_BYTES = 16 * 1024 * 1024
# Dash's bundles need no eval (their one `new Function` is a fallback behind globalThis);
# its components and plotly.js insert <style> elements, hence inline styles; inline scripts
# are allowed only by hash (Dash's renderer start-up and the clientside callbacks).
CSP = (
    "default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CALLBACK_PATH = "/_dash-update-component"
PLAIN_PREFIXES = ("/_dash-", "/_reload", "/download/", "/healthz")
MESSAGES = {
    400: "The request was not understood.",
    403: "You don't have access to this.",
    404: "There is no such page.",
    413: "The upload is too large.",
    500: "Something went wrong on our side. It has been logged; please try again.",
    503: "The dashboard can't reach its database just now. Please try again in a minute.",
}
ERROR_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Network Dashboard</title>
<link rel="stylesheet" href="/assets/00-bootstrap.min.css">
<link rel="stylesheet" href="/assets/app.css">
</head><body class="bg-light"><main class="container py-5">
<h1 class="h3">{title}</h1><p>{message}</p><p><a href="/">Back to the dashboard</a></p>
</main></body></html>"""


# ---------------------------------------------------------------- CSRF token


def csrf_token() -> str:
    """The session's CSRF token, for a form's hidden `csrf_token` field (made on first use)."""
    if "csrf" not in flask.session:
        flask.session["csrf"] = secrets.token_urlsafe(32)
    return flask.session["csrf"]


def csrf_ok() -> bool:
    """Whether the form sent the token this session was given (the session cookie is signed,
    and another site can neither read the token nor set the cookie)."""
    sent = request.form.get("csrf_token") or ""
    expected = flask.session.get("csrf") or ""
    return bool(expected) and hmac.compare_digest(sent.encode(), expected.encode())


# ---------------------------------------------------------------- requests


def cross_site() -> bool:
    """Whether the browser says this request comes from another site: an Origin (or, without
    one, a Referer) naming another host, or Sec-Fetch-Site "cross-site"."""
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        return True
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if not source:
        return False  # not a browser, or one that says nothing: the token and cookie decide
    # Hosts, not schemes: behind a TLS-terminating proxy the app may see http.
    return urlsplit(source).netloc.lower() != request.host.lower()


def refuse_too_large():
    """Refuse a body over the limit by its declared length, before anything reads it."""
    limit = flask.current_app.config.get("MAX_CONTENT_LENGTH")
    if limit is not None and (request.content_length or 0) > limit:
        raise RequestEntityTooLarge()


def refuse_cross_site():
    """Refuse state-changing requests sent from another site's page."""
    if request.method in UNSAFE_METHODS and cross_site():
        return plain(403, "cross-site request refused")
    return None


def callback_body_problem(body) -> str | None:
    """Why a callback request's JSON is not what Dash's renderer sends, or None."""
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    if not isinstance(body.get("output"), str):
        return "'output' must be a string"
    for key in ("inputs", "state"):
        items = body.get(key, [])
        if not isinstance(items, list):
            return f"'{key}' must be a list"
        for item in items:
            entries = item if isinstance(item, list) else [item]
            if not all(isinstance(e, dict) and "id" in e and "property" in e for e in entries):
                return f"each of '{key}' must be an object with an id and a property"
    outputs = body.get("outputs")
    if outputs is not None and not isinstance(outputs, dict | list):
        return "'outputs' must be an object or a list"
    return None


def check_callback_body():
    """Answer a malformed callback request 400 with the reason, before Dash trips on it."""
    if request.method == "POST" and request.path.endswith(CALLBACK_PATH):
        problem = callback_body_problem(request.get_json(silent=True))
        if problem:
            return plain(400, f"malformed callback request: {problem}")
    return None


# ---------------------------------------------------------------- responses


def script_hashes(server: Flask) -> str:
    """The CSP hashes of the Dash app's inline scripts (computed once)."""
    if "csp_hashes" not in server.extensions:
        dash_app = server.extensions.get("dash_app")
        hashes = dash_app.csp_hashes() if dash_app is not None else []
        server.extensions["csp_hashes"] = " ".join(hashes)  # quoted by Dash
    return server.extensions["csp_hashes"]


def add_headers(response: flask.Response) -> flask.Response:
    """Security headers on every response."""
    response.headers.setdefault(
        "Content-Security-Policy", CSP.format(hashes=script_hashes(flask.current_app))
    )
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def plain(status: int, reason: str) -> flask.Response:
    return flask.Response(reason + "\n", status=status, mimetype="text/plain")


def error_response(status: int, message: str) -> flask.Response:
    """Plain text for Dash's data requests, the app's own page for a person."""
    if request.path.startswith(PLAIN_PREFIXES):
        return plain(status, message)
    title = f"{status} · {MESSAGES.get(status, 'Error').rstrip('.')}"
    body = ERROR_PAGE.format(title=escape(title), message=escape(message))
    return flask.Response(body, status=status, mimetype="text/html")


def on_http_error(error: HTTPException):
    status = error.code or 500
    return error_response(status, MESSAGES.get(status, error.description or "Error"))


def on_bad_filters(error: FilterError):
    return plain(400, f"bad filters: {error}")


def on_server_error(_error: HTTPException):
    # Flask has already logged the exception with its traceback; the visitor gets none of it.
    return error_response(500, MESSAGES[500])


def init_web_security(server: Flask) -> None:
    """Register the checks, headers and error pages on the Flask server."""
    if server.config.get("MAX_CONTENT_LENGTH") is None:
        server.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    # First of all the request checks (before the sign-in guard and the throttle): none of
    # them needs to know the user, and each spares the later ones work.
    checks = server.before_request_funcs.setdefault(None, [])
    checks[0:0] = [refuse_too_large, refuse_cross_site, check_callback_body]
    server.after_request(add_headers)
    server.register_error_handler(FilterError, on_bad_filters)
    # Dash answers a script path naming no registered library with this exception.
    server.register_error_handler(DependencyException, lambda _: on_http_error(NotFound()))
    for status in (403, 404, 413, 503):
        server.register_error_handler(status, on_http_error)
    server.register_error_handler(500, on_server_error)
