"""Sign-in (flask-login), the per-request guard, and the current user's scope."""

from __future__ import annotations

import datetime as dt
import json
from html import escape
from pathlib import Path

import flask
from flask import Flask, redirect, request, url_for
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from dashboard import audit
from dashboard.access import ROLE_PAGES, Scope
from dashboard.db import session_scope
from dashboard.models import User
from dashboard.users import authenticate, network_names_of

OPEN_PATHS = ("/login", "/healthz", "/assets/", "/_favicon.ico", "/favicon.ico")
DASH_DATA_PATHS = ("/_dash-", "/_reload", "/download/")
# Component-id prefix -> the page whose callbacks own it; shell ids belong to every page.
ID_PAGE = {"overview": "/", "attendance": "/attendance", "retention": "/retention",
           "surveys": "/surveys", "impact": "/impact", "planning": "/planning", "data": "/data",
           "admin": "/admin"}
FAILED_LOGIN_LIMIT = "5 per 5 minutes"


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


def _page_of(component_id: str) -> str | None:
    prefix = component_id.split("-", 1)[0].split(".", 1)[0]
    return ID_PAGE.get(prefix)


def callback_pages(body: dict) -> set[str]:
    """The pages whose components a callback request writes or reads."""
    ids: list[str] = []
    outputs = body.get("outputs") or []
    for item in outputs if isinstance(outputs, list) else [outputs]:
        ids.append(str(item.get("id", "")) if isinstance(item, dict) else "")
    ids += [str(body.get("output", ""))]
    for key in ("inputs", "state"):
        for item in body.get(key) or []:
            for entry in item if isinstance(item, list) else [item]:
                if isinstance(entry, dict):
                    ids.append(str(entry.get("id", "")))
    pages = set()
    for component_id in ids:
        if component_id.startswith("{"):
            try:
                component_id = str(json.loads(component_id).get("type", ""))
            except ValueError:
                continue
        page = _page_of(component_id.lstrip("."))
        if page:
            pages.add(page)
    return pages


LOGIN_FORM = (Path(__file__).parent / "login.html").read_text()


def _login_page(message: str = "", status: int = 200, next_url: str = "/"):
    block = f'<div class="alert alert-danger" role="alert">{escape(message)}</div>' \
        if message else ""
    return flask.Response(LOGIN_FORM.format(message=block, next=escape(next_url)),
                          status=status, mimetype="text/html")


def _safe_next(target: str | None) -> str:
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def init_auth(server: Flask, engine, settings, storage_uri: str = "memory://") -> Limiter:
    """Register flask-login, the login/logout routes, throttling and the request guard."""
    server.config.update(
        SECRET_KEY=settings.resolved_secret_key(),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=not settings.demo_mode,
        REMEMBER_COOKIE_HTTPONLY=True,
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

    limiter = Limiter(get_remote_address, app=server, storage_uri=storage_uri,
                      default_limits=[], headers_enabled=False)
    failed = lambda response: response.status_code == 401  # noqa: E731 - count failures only

    @server.route("/login", methods=["GET", "POST"])
    @limiter.limit(FAILED_LOGIN_LIMIT, methods=["POST"], deduct_when=failed,
                   error_message="Too many failed sign-ins from this address.")
    @limiter.limit(FAILED_LOGIN_LIMIT, methods=["POST"], deduct_when=failed,
                   key_func=lambda: "user:" + (request.form.get("username") or "").lower(),
                   error_message="Too many failed sign-ins for this account.")
    def login():
        next_url = _safe_next(request.values.get("next"))
        if request.method == "GET":
            return _login_page(next_url=next_url)
        username = (request.form.get("username") or "").strip()
        password = request.form.get("password") or ""
        with session_scope(engine) as session:
            user = authenticate(session, username, password)
            if user is None:
                audit.record(session, "login-failed", username, "wrong password, unknown or "
                             "inactive user", request.remote_addr)
                return _login_page("Wrong username or password.", 401, next_url)
            audit.record(session, "login", user.username, user.role, request.remote_addr)
            signed_in = SignedInUser(user, network_names_of(session, user))
        flask.session.permanent = True
        login_user(signed_in)
        if not signed_in.scope.can_open(next_url.split("?", 1)[0]):
            next_url = "/" if signed_in.scope.can_open("/") else ROLE_PAGES[user.role][0]
        return redirect(next_url)

    @server.errorhandler(429)
    def too_many(error):
        with session_scope(engine) as session:
            audit.record(session, "login-throttled", request.form.get("username"),
                         str(error.description), request.remote_addr)
        return _login_page(f"{error.description} Try again in a few minutes.", 429)

    @server.route("/logout")
    def logout():
        if current_user.is_authenticated:
            with session_scope(engine) as session:
                audit.record(session, "logout", current_user.username, "", request.remote_addr)
        logout_user()
        flask.session.clear()
        return redirect(url_for("login"))

    @server.before_request
    def guard():
        path = request.path
        if path.startswith(OPEN_PATHS):
            return None
        if not current_user.is_authenticated:
            if path.startswith(DASH_DATA_PATHS):
                return flask.Response("sign in first", status=401)
            target = request.full_path if request.query_string else path
            return redirect(url_for("login", next=target))
        scope = current_user.scope
        if path == "/_dash-update-component" and request.method == "POST":
            body = request.get_json(silent=True) or {}
            refused = [p for p in callback_pages(body) if not scope.can_open(p)]
            if refused:
                with session_scope(engine) as session:
                    audit.record(session, "refused", scope.username,
                                 f"callback for {', '.join(sorted(refused))}",
                                 request.remote_addr)
                return flask.Response("not allowed for your role", status=403)
        # Pages are rendered by the shell's router, which shows "not available" out of role;
        # downloads check the role in their own routes.
        return None

    return limiter
