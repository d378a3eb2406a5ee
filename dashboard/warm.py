"""Warm the cache (issue 14): compute the views people open first, in the background, so the
first visitor after an import does not pay the cold cost.

The views people open first are each role's default view of each page: the URL without a
query string (the role's own period, `filters.default_preset`) on /, /attendance, /retention,
/surveys and /impact, for every distinct scope (role and networks) of the active accounts.
Funders read published releases, not views: they are left out.

When a request reads a data version (or, on a new day, the same version: the views are kept
per day) that this process has not seen, the Warmer claims its warming with an atomic
`cache.add` of ("warm", version, day): with Redis one worker of all that share it wins, with
the in-process cache each process warms its own. The winner warms in a daemon thread, and
stops if the version moves meanwhile (the next version's warming takes over). Errors are
logged, never raised into a request.

Warming drives the app's own callbacks through a Flask test client of the same server, signed
in as an account of each scope by its session cookie (no sign-in form: no sign-in audit and no
throttle), posting to Dash's callback endpoint the bodies the browser sends when it opens the
page: the page's layout from the router callback, then every callback that reads the page's
URL, with the layout's values and, for a callback fed by another (the survey instrument), that
one's answer. Dash's own code answers, so the cache keys are the browser's (the bodies were
checked against what Chromium sends on opening each page, 2026-12-02: the URL's search as "").

Warming is nobody's query: its requests carry WARMING in their WSGI environ (a browser cannot
set it: HTTP headers arrive as HTTP_*), and `DataService.watch_query` neither audits nor
counts them (SPEC §4); a later real visitor's cache hit replays his audit as always.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import flask
from sqlalchemy import select

from dashboard.access import Scope
from dashboard.db import session_scope
from dashboard.models import User
from dashboard.users import network_names_of

log = logging.getLogger(__name__)

WARMING = "dashboard.warming"  # WSGI environ key of warming's own requests
PAGES = ("/", "/attendance", "/retention", "/surveys", "/impact")
CLAIM_SECONDS = 3600  # as long as a cached view lasts (CACHE_DEFAULT_TIMEOUT)
CALLBACK_PATH = "/_dash-update-component"
ADDRESS = ("pathname", "search", "hash")  # what dcc.Location takes from the address bar
ROUTER_OUTPUT = "page.children"  # the shell's router: a page's layout for url.pathname
# Off in the test suite (tests/conftest.py): its apps come and go with their databases.
IN_BACKGROUND = True


class WarmError(RuntimeError):
    """A callback that did not answer while warming."""


def warming() -> bool:
    """Whether the current request is warming's own (not a person's)."""
    return flask.has_request_context() and flask.request.environ.get(WARMING) is True


@dataclass(frozen=True)
class Account:
    """An account to warm one scope's views as."""

    user_id: int
    session_version: int
    scope: Scope

    @property
    def label(self) -> str:
        networks = f" of {', '.join(self.scope.networks)}" if self.scope.networks else ""
        return f"{self.scope.role}{networks}"


@dataclass
class Report:
    version: int
    scopes: list[str] = field(default_factory=list)
    views: int = 0  # callbacks answered
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    stopped: bool = False  # the data version moved before the end


def accounts(engine, usernames: Iterable[str] | None = None) -> list[Account]:
    """One active account per distinct scope (role and networks), funders left out; or, with
    `usernames`, those accounts (one per scope)."""
    wanted = None if usernames is None else set(usernames)
    found: dict[tuple, Account] = {}
    with session_scope(engine) as session:
        query = select(User).where(User.active.is_(True), User.role != "funder")
        for user in session.scalars(query.order_by(User.id)):
            if wanted is not None and user.username not in wanted:
                continue
            scope = Scope(user.role, network_names_of(session, user), user.username)
            found.setdefault(
                (scope.role, scope.networks), Account(user.id, user.session_version, scope)
            )
    return list(found.values())


def warm(
    server: flask.Flask,
    usernames: Iterable[str] | None = None,
    stop: Callable[[], bool] | None = None,
) -> Report:
    """Compute each scope's default view of each page it opens, through the app's callbacks
    (the cache the server is configured with keeps them). Stops early when `stop()` is true
    (checked before each page). A page that fails is reported and the others still warm."""
    service = server.extensions["dashboard"]
    started = time.perf_counter()
    report = Report(version=service.read_version())
    client = server.test_client()
    client.environ_base[WARMING] = True
    for account in accounts(service.engine, usernames):
        report.scopes.append(account.label)
        sign_in(client, account)
        for path in PAGES:
            if not account.scope.can_open(path):
                continue
            if stop is not None and stop():
                report.stopped = True
                break
            try:
                report.views += warm_page(client, server, path)
            except Exception as exc:  # noqa: BLE001 - one page's failure is reported, not fatal
                log.warning("warming %s for %s failed: %s", path, account.label, exc)
                report.failed.append(f"{path} ({account.label}): {exc}")
        if report.stopped:
            break
    report.seconds = time.perf_counter() - started
    return report


def sign_in(client, account: Account) -> None:
    """The test client's session as flask-login keeps a signed-in user's (auth.load_user)."""
    with client.session_transaction() as session:
        session.clear()
        session["_user_id"] = f"{account.user_id}:{account.session_version}"
        session["_fresh"] = False  # not a sign-in with a password
        session.permanent = True


def warm_page(client, server: flask.Flask, path: str) -> int:
    """Open a page as the browser does: its layout, then every callback that reads its URL
    (in the order their inputs are ready). Returns the number of callbacks answered."""
    callback_map = server.extensions["dash_app"].callback_map
    router = next(key for key in callback_map if ROUTER_OUTPUT in key)
    answer = post(
        client, body(router, callback_map[router], lambda cid, prop: path, {"url.pathname"})
    )
    components = layout_components(answer.get("page", {}).get("children"))
    calls = page_calls(callback_map, components)

    # What changed before a callback fires: the address (dcc.Location reads it when the page
    # mounts), then what earlier callbacks answered.
    changed = {f"{cid}.{prop}" for cid in locations_of(components) for prop in ADDRESS}

    def value(cid: str, prop: str) -> Any:
        kind, props = components[cid]
        if kind == "Location" and prop in ADDRESS:  # from the address bar
            return {"pathname": path, "search": "", "hash": ""}[prop]
        return props.get(prop)

    for key, spec in calls:
        for cid, props in post(client, body(key, spec, value, changed)).items():
            components.setdefault(cid, ("", {}))[1].update(props)
            changed.update(f"{cid}.{prop}" for prop in props)
    return len(calls)


def locations_of(components: dict) -> set[str]:
    return {cid for cid, (kind, _) in components.items() if kind == "Location"}


def outputs_of(key: str) -> list[tuple[str, str]]:
    """(component id, property) of a callback's output key ("a.p" or "..a.p...b.q..")."""
    parts = key[2:-2].split("...") if key.startswith("..") else [key]
    return [tuple(part.rsplit(".", 1)) for part in parts]  # type: ignore[misc]


def body(
    key: str, spec: dict, value: Callable[[str, str], Any], changed: set[str] | None = None
) -> dict:
    """The request body of a callback's call on opening a page, as the browser sends it:
    each input's and state's value, and which of its inputs changed (`changed`: "id.prop")."""
    outputs = [{"id": cid, "property": prop} for cid, prop in outputs_of(key)]
    return {
        "output": key,
        "outputs": outputs if len(outputs) > 1 else outputs[0],
        "inputs": [{**dep, "value": value(dep["id"], dep["property"])} for dep in spec["inputs"]],
        "state": [
            {**dep, "value": value(dep["id"], dep["property"])} for dep in spec.get("state", [])
        ],
        "changedPropIds": [
            f"{dep['id']}.{dep['property']}"
            for dep in spec["inputs"]
            if f"{dep['id']}.{dep['property']}" in (changed or ())
        ],
    }


def post(client, request_body: dict) -> dict:
    """A callback's answer as {component id: {property: value}}."""
    response = client.post(CALLBACK_PATH, json=request_body)
    if response.status_code == 204:  # nothing to update
        return {}
    if response.status_code != 200:
        raise WarmError(f"{request_body['output'][:80]}: HTTP {response.status_code}")
    return (response.get_json() or {}).get("response", {})


def layout_components(tree: Any, found: dict | None = None) -> dict[str, tuple[str, dict]]:
    """Every component with a (string) id in a layout as Dash sends it: id -> (type, props)."""
    found = {} if found is None else found
    if isinstance(tree, list):
        for item in tree:
            layout_components(item, found)
    elif isinstance(tree, dict) and isinstance(tree.get("props"), dict) and "type" in tree:
        props = tree["props"]
        if isinstance(props.get("id"), str):
            found[props["id"]] = (tree["type"], props)
        for item in props.values():
            layout_components(item, found)
    return found


def page_calls(callback_map: dict, components: dict) -> list[tuple[str, dict]]:
    """The callbacks a page fires on opening that read its URL (its figures, and what feeds
    them), in an order where a callback comes after the ones whose outputs it reads. Left out:
    URL writers (cross-filters, pickers), second writers of an output (allow_duplicate, never
    fired on opening) and callbacks on components this page does not have for this role."""
    locations = locations_of(components)
    calls = []
    for key, spec in callback_map.items():
        if "@" in key:
            continue
        outputs = outputs_of(key)
        inputs, state = spec["inputs"], spec.get("state", [])
        ids = [cid for cid, _ in outputs] + [dep["id"] for dep in [*inputs, *state]]
        if (
            any(dep["id"] in locations and dep["property"] == "search" for dep in inputs)
            and not any(cid in locations for cid, _ in outputs)
            and all(isinstance(cid, str) and cid in components for cid in ids)
        ):
            calls.append((key, spec))
    writer = {f"{cid}.{prop}": key for key, _ in calls for cid, prop in outputs_of(key)}
    ordered: list[tuple[str, dict]] = []
    done: set[str] = set()
    while len(ordered) < len(calls):
        waiting = [(key, spec) for key, spec in calls if key not in done]
        ready = [
            (key, spec)
            for key, spec in waiting
            if all(
                writer.get(f"{dep['id']}.{dep['property']}") in (None, key, *done)
                for dep in spec["inputs"]
            )
        ] or waiting  # a loop: as they come
        ordered += ready
        done.update(key for key, _ in ready)
    return ordered


def claim(cache, version: int, day: dt.date) -> bool:
    """Claim the warming of a version (on a day) for this process: True for exactly one of
    all the processes sharing the cache (an atomic add), until CLAIM_SECONDS have passed."""
    if cache is None:
        return False
    key = repr(("warm", version, day.isoformat()))
    return cache.add(key, os.getpid(), timeout=CLAIM_SECONDS)


class Warmer:
    """Told of the data version each request reads (DataService.version); warms a version (or
    day) this process has not seen yet, if it wins the claim, in a background thread."""

    def __init__(self, server: flask.Flask):
        self.server = server
        self.lock = threading.Lock()
        self.last: tuple[int, dt.date] | None = None
        self.thread: threading.Thread | None = None

    def seen(self, version: int) -> None:
        """Cheap on every request: one comparison, unless the version or day is new here."""
        mark = (version, dt.date.today())
        if mark == self.last or not IN_BACKGROUND:
            return
        with self.lock:
            if mark == self.last:
                return
            self.last = mark
        try:
            if claim(self.server.extensions["dashboard"].cache, *mark):
                self.thread = threading.Thread(
                    target=self.run, args=(version,), name=f"warm-{version}", daemon=True
                )
                self.thread.start()
        except Exception:  # noqa: BLE001 - never into a request
            log.exception("cache warming for data version %s did not start", version)

    def run(self, version: int) -> Report | None:
        """Warm every scope's default views; stop if the version moves. Logs, never raises."""
        service = self.server.extensions["dashboard"]
        try:
            report = warm(self.server, stop=lambda: service.read_version() != version)
        except Exception:  # noqa: BLE001 - a background thread: logged
            log.exception("cache warming for data version %s failed", version)
            return None
        log.warning(
            "cache warmed for data version %s: %s views of %s in %.1f s%s%s",
            version,
            report.views,
            ", ".join(report.scopes) or "no account",
            report.seconds,
            " (stopped: the data changed)" if report.stopped else "",
            f"; {len(report.failed)} failed" if report.failed else "",
        )
        return report
