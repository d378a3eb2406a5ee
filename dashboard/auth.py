"""Sign-in (flask-login), the per-request guard, and the current user's scope."""

from __future__ import annotations

import datetime as dt
import json
from html import escape
from pathlib import Path

import flask
from dash import hooks
from flask import Flask, redirect, request, url_for
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from dashboard import audit
from dashboard.access import ROLE_PAGES, Scope
from dashboard.db import session_scope
from dashboard.models import User
from dashboard.throttle import SignInThrottle
from dashboard.users import authenticate, network_names_of
from dashboard.web_security import csrf_ok, csrf_token

# What a visitor who is not signed in may fetch: the sign-in form, the health checks, the
# stylesheets the form uses and the icon. Everything else (pages, Dash's layout, dependencies,
# callbacks and component scripts, downloads) needs a signed-in user.
OPEN_PATHS = frozenset({"/login", "/healthz", "/readyz", "/_favicon.ico"})
OPEN_PREFIXES = ("/assets/",)
DASH_DATA_PATHS = ("/_dash-", "/_reload", "/download/")
# Dash's optional MCP server would run callbacks without this module's checks: never served.
REFUSED_PREFIXES = ("/_mcp",)
# Component-id prefix -> the page whose callbacks own it.
ID_PAGE = {
    "overview": "/",
    "attendance": "/attendance",
    "retention": "/retention",
    "surveys": "/surveys",
    "impact": "/impact",
    "planning": "/planning",
    "data": "/data",
    "admin": "/admin",
}
# The shell's ids (dcc.Location, the filter bar, the page container, navigation): every page
# has them, so every signed-in role may use their callbacks.
SHELL = "shell"
SHELL_PREFIXES = frozenset({"url", "page", "filter", "nav"})
# Failed sign-ins allowed per account and per address in any window of this many seconds.
FAILED_LOGIN_LIMIT = 5
FAILED_LOGIN_WINDOW = 300
THROTTLED = {
    "account": "Too many failed sign-ins for this account.",
    "address": "Too many failed sign-ins from this address.",
}


class SignedInUser(UserMixin):
    """What a request knows of its user: loaded fresh from the database on each request."""

    def __init__(self, user: User, networks: tuple[str, ...] | None):
        self.id = f"{user.id}:{user.session_version}"
        self.username = user.username
        self.role = user.role
        self.scope = Scope(role=user.role, networks=networks, username=user.username)


def current_scope() -> Scope:
    """The signed-in user's scope; refuses (401) when nobody is signed in."""
    if not getattr(current_user, "is_authenticated", False):
        flask.abort(401)
    return current_user.scope


def page_of(component_id) -> str | None:
    """The page owning a component id (a path), SHELL for the shell's ids, None if unknown.

    Pattern-matching ids (a dict, or its JSON text in a callback's key) go by their "type".
    """
    if isinstance(component_id, str) and component_id.startswith("{"):
        try:
            component_id = json.loads(component_id)
        except ValueError:
            return None
    if isinstance(component_id, dict):
        component_id = component_id.get("type", "")
    if not isinstance(component_id, str):
        return None
    prefix = component_id.split("-", 1)[0]
    if prefix in SHELL_PREFIXES:
        return SHELL
    return ID_PAGE.get(prefix)


def _output_ids(output: str) -> list[str]:
    """The component ids in a callback's output key ("a.prop" or "..a.prop...b.prop..")."""
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    return [part.rsplit(".", 1)[0] for part in parts]


def callback_ids(body: dict, callback_map: dict | None) -> list:
    """Every component id a callback request involves.

    Dash runs the function registered under body["output"] with the values the request
    sends, whatever ids it names: so the ids the callback was registered with count, and
    the ids the request names count too.
    """
    output = str(body.get("output", ""))
    spec = (callback_map or {}).get(output)
    ids: list = []
    if spec is None or not spec.get("no_output"):
        ids += _output_ids(output)
    if spec is not None:
        ids += [dep["id"] for dep in [*spec.get("inputs", []), *spec.get("state", [])]]
    outputs = body.get("outputs") or []
    for item in outputs if isinstance(outputs, list) else [outputs]:
        for entry in item if isinstance(item, list) else [item]:
            if isinstance(entry, dict):
                ids.append(entry.get("id", ""))
    for key in ("inputs", "state"):
        for item in body.get(key) or []:
            for entry in item if isinstance(item, list) else [item]:
                if isinstance(entry, dict):
                    ids.append(entry.get("id", ""))
    return ids


def callback_pages(body: dict, callback_map: dict | None = None) -> set[str]:
    """The pages whose components a callback request writes or reads.

    SHELL stands for the shell's ids; None for an id no page owns (refused: a page's ids
    must start with its name).
    """
    return {page_of(component_id) for component_id in callback_ids(body, callback_map)}


def refused_pages(scope: Scope, body: dict, callback_map: dict | None = None) -> list[str]:
    """The pages (or "unknown ids") of a callback request that this scope may not use."""
    refused = set()
    for page in callback_pages(body, callback_map):
        if page is None:
            refused.add("unknown ids")
        elif page != SHELL and not scope.can_open(page):
            refused.add(page)
    return sorted(refused)


def require_role(*roles: str) -> Scope:
    """The current scope, if its role is one of these; refuses (403) otherwise.

    Defence in depth inside a page's callbacks: the guard already refuses callbacks of pages
    out of a role by their ids.
    """
    scope = current_scope()
    if scope.role not in roles:
        flask.abort(403)
    return scope


@hooks.setup()
def _remember_dash_app(app) -> None:
    """Keep each Dash app on its Flask server, so the guard can read its callback map."""
    server = getattr(app, "server", None)
    if isinstance(server, Flask):
        server.extensions["dash_app"] = app


def _callback_map(server: Flask) -> dict | None:
    """The callbacks Dash will run on this server: the app's, and any registered globally
    that Dash merges in on its first request."""
    dash_app = server.extensions.get("dash_app")
    if dash_app is None:
        return None
    from dash._callback import GLOBAL_CALLBACK_MAP

    return {**GLOBAL_CALLBACK_MAP, **dash_app.callback_map}


LOGIN_FORM = (Path(__file__).parent / "login.html").read_text()
LOGOUT_FORM = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign out · Network Dashboard</title>
<link rel="stylesheet" href="/assets/00-bootstrap.min.css">
<link rel="stylesheet" href="/assets/app.css">
</head><body class="bg-light"><main class="container py-5">
<h1 class="h3">Sign out of the Network Dashboard?</h1>
<form method="post" action="/logout"><input type="hidden" name="csrf_token" value="{csrf}">
<button class="btn btn-primary" type="submit" id="logout-submit">Sign out</button>
<a class="btn btn-link" href="/">Back to the dashboard</a></form>
</main></body></html>"""


def _login_page(message: str = "", status: int = 200, next_url: str = "/"):
    block = (
        f'<div class="alert alert-danger" role="alert">{escape(message)}</div>' if message else ""
    )
    page = LOGIN_FORM.format(message=block, next=escape(next_url), csrf=escape(csrf_token()))
    return flask.Response(page, status=status, mimetype="text/html")


def typed_username() -> str:
    """The username of a sign-in form, as sign-in reads it."""
    return (request.form.get("username") or "").strip()


def throttle_keys() -> list[str]:
    """The account's key, then the address's. One throttle per account: usernames are unique
    ignoring case, and sign-in strips spaces, so " Name", "name " and "name" are guesses at
    the same account."""
    return ["user:" + typed_username().lower(), f"addr:{request.remote_addr}"]


def _safe_next(target: str | None) -> str:
    """A local path to go to after signing in; anything else (another site) becomes "/"."""
    if (
        not target
        or not target.startswith("/")
        or target[1:2] in ("/", "\\")
        or "\\" in target
        or any(ord(c) < 32 for c in target)
    ):
        # Browsers read "/\\host" as "//host": another site.
        return "/"
    return target


def init_auth(server: Flask, engine, settings, redis_url: str | None = None) -> SignInThrottle:
    """Register flask-login, the login/logout routes, throttling and the request guard."""
    server.config.update(
        SECRET_KEY=settings.resolved_secret_key(),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # Demo mode serves plain http on 127.0.0.1; a deployment is behind https.
        SESSION_COOKIE_SECURE=not settings.demo_mode,
        # No "remember me": the remember cookie is never set, but keep it as strict if it is.
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=not settings.demo_mode,
        REMEMBER_COOKIE_SAMESITE="Lax",
        # Flask checks the signed cookie's age against this on every request (so a copied
        # cookie also expires), and SESSION_REFRESH_EACH_REQUEST re-signs it on each one:
        # the session ends after this long without a request.
        PERMANENT_SESSION_LIFETIME=dt.timedelta(minutes=settings.session_idle_minutes),
        SESSION_REFRESH_EACH_REQUEST=True,
    )
    manager = LoginManager(server)
    manager.session_protection = "basic"

    @manager.user_loader
    def load_user(user_key: str):
        user_id, _, version = user_key.partition(":")
        with session_scope(engine) as session:
            user = session.get(User, int(user_id)) if user_id.isdigit() else None
            # A deactivated user, a changed role or a reset password ends old sessions.
            if user is None or not user.active or str(user.session_version) != version:
                return None
            return SignedInUser(user, network_names_of(session, user))

    throttle = server.extensions["signin_throttle"] = SignInThrottle(
        FAILED_LOGIN_LIMIT, FAILED_LOGIN_WINDOW, redis_url
    )

    def _throttled(reason: str):
        with session_scope(engine) as session:
            audit.record(
                session,
                "login-throttled",
                request.form.get("username"),
                reason,
                request.remote_addr,
            )
        return _login_page(f"{reason} Try again in a few minutes.", 429)

    @server.route("/login", methods=["GET", "POST"])
    def login():
        next_url = _safe_next(request.values.get("next"))
        if request.method == "GET":
            return _login_page(next_url=next_url)
        if not csrf_ok():
            # Not counted as a failed sign-in: no password was tried.
            return _login_page("The sign-in form had expired. Please sign in again.", 400, next_url)
        username = typed_username()
        password = request.form.get("password") or ""
        keys = throttle_keys()
        token, full = throttle.reserve(keys)
        if token is None:
            return _throttled(THROTTLED["account" if full == keys[0] else "address"])
        with session_scope(engine) as session:
            user = authenticate(session, username, password)
            if user is None:
                audit.record(
                    session,
                    "login-failed",
                    username,
                    "wrong password, unknown or inactive user",
                    request.remote_addr,
                )
                return _login_page("Wrong username or password.", 401, next_url)
            throttle.release(keys, token)  # only failures count
            audit.record(session, "login", user.username, user.role, request.remote_addr)
            signed_in = SignedInUser(user, network_names_of(session, user))
        flask.session.clear()  # nothing from before the sign-in carries over
        flask.session.permanent = True
        login_user(signed_in)
        if not signed_in.scope.can_open(next_url.split("?", 1)[0]):
            next_url = "/" if signed_in.scope.can_open("/") else ROLE_PAGES[user.role][0]
        return redirect(next_url)

    @server.route("/logout", methods=["GET", "POST"])
    def logout():
        # Only a POST carrying the session's token signs out: a link or image on another
        # site can't. A GET (the navigation link) asks first.
        if request.method == "GET" or not csrf_ok():
            page = LOGOUT_FORM.format(csrf=escape(csrf_token()))
            return flask.Response(page, mimetype="text/html")
        if current_user.is_authenticated:
            with session_scope(engine) as session:
                audit.record(session, "logout", current_user.username, "", request.remote_addr)
                # Callbacks still in flight when he signs out would hand the browser a fresh
                # copy of the signed-in cookie; moving the version makes any such copy void.
                user = session.get(User, int(str(current_user.id).partition(":")[0]))
                if user is not None:
                    user.session_version += 1
        logout_user()
        flask.session.clear()
        return redirect(url_for("login"))

    @server.before_request
    def guard():
        """Check every request: sign-in first, then a callback's page against the role."""
        path = request.path
        if path.startswith(REFUSED_PREFIXES):
            return flask.Response("not found", status=404)
        if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
            return None
        if not current_user.is_authenticated:
            if path.startswith(DASH_DATA_PATHS) or request.method not in ("GET", "HEAD"):
                return flask.Response("sign in first", status=401)
            target = request.full_path if request.query_string else path
            return redirect(url_for("login", next=target))
        rule = request.url_rule.rule if request.url_rule is not None else path
        if request.method == "POST" and rule.endswith("/_dash-update-component"):
            body = request.get_json(silent=True)
            if not isinstance(body, dict):
                return flask.Response("not a callback request", status=400)
            callback_map = _callback_map(server)
            if callback_map is not None and str(body.get("output", "")) not in callback_map:
                return flask.Response("no such callback", status=400)
            scope = current_user.scope
            flask.g.callback_page = ", ".join(sorted(callback_pages(body, callback_map)))
            refused = refused_pages(scope, body, callback_map)
            if refused:
                with session_scope(engine) as session:
                    audit.record(
                        session,
                        "refused",
                        scope.username,
                        f"callback {str(body.get('output', ''))[:200]} for {', '.join(refused)}",
                        request.remote_addr,
                    )
                return flask.Response("not allowed for your role", status=403)
        # Pages are rendered by the shell's router, which shows "not available" out of role;
        # downloads check the role in their own routes.
        return None

    return throttle
