"""Sign-in, roles and privacy (SPEC §1, §4): every request is checked on the server.

The callback tests enumerate the app's registered callbacks (demo_app.callback_map), so a
page added later is covered without listing it here.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import re
import time
from dataclasses import replace

import pytest
from sqlalchemy import select

from dashboard import audit
from dashboard.db import get_engine, session_scope
from dashboard.models import User
from dashboard.users import create_user, set_active, set_password, update_user
from tests.conftest import TEST_PASSWORD, login, logout
from tests.dash_calls import callback_body, run_callback

FY = "?from=2025-04-01&to=2026-03-31"
CARDS = "overview-value-sessions_held.children"
# Three men in the demo data (all in Calgary): a small cell.
SMALL = FY + "&age=55-64&community=Indigenous"
MEMBER_CODE = re.compile(r"[A-Z]{3}-\d{6}")
# The shell's ids (every page has them); any other id starts with its page's name.
SHELL = {"url", "page", "filter", "nav"}
ROLE_PREFIXES = {
    "funder": {"impact"},  # his published releases only (SPEC §4)
    "leadership": {"overview", "attendance", "retention", "surveys", "impact", "planning"},
    "coord-calgary": {"overview", "attendance", "retention", "surveys", "impact", "data"},
}
PAGE_PREFIXES = {
    "overview",
    "attendance",
    "retention",
    "surveys",
    "impact",
    "planning",
    "data",
    "admin",
}


# --- callbacks as the browser calls them -------------------------------------------------


def output_parts(key: str) -> list[tuple[str, str]]:
    """(id, property) of each output in a callback's key ("a.p" or "..a.p...b.q..")."""
    parts = key[2:-2].split("...") if key.startswith("..") else [key]
    return [tuple(part.rsplit(".", 1)) for part in parts]  # type: ignore[misc]


def component_ids(key: str, spec: dict) -> list[str]:
    return [cid for cid, _ in output_parts(key)] + [
        dep["id"] for dep in spec["inputs"] + spec["state"]
    ]


def prefix(component_id: str) -> str:
    if component_id.startswith("{"):
        component_id = json.loads(component_id)["type"]
    return component_id.split("-", 1)[0]


def page_prefixes(key: str, spec: dict) -> set[str]:
    """The pages a callback belongs to (empty for the shell's callbacks)."""
    return {prefix(cid) for cid in component_ids(key, spec)} - SHELL


def callbacks(app, server_side: bool = False) -> list[tuple[str, dict]]:
    found = sorted(app.callback_map.items())
    if server_side:  # clientside callbacks never reach the server
        found = [(k, s) for k, s in found if s.get("callback") is not None]
    return found


def allowed_callbacks(app, role: str) -> list[tuple[str, dict]]:
    return [
        (key, spec)
        for key, spec in callbacks(app, server_side=True)
        if page_prefixes(key, spec) <= ROLE_PREFIXES[role]
    ]


def body_for(
    key: str, spec: dict, values: dict | None = None, trigger: tuple[str, str] | None = None
) -> dict:
    """The request Dash's renderer sends for this callback; unnamed values are None.

    values: {(id, property): value}; ("*", property) stands for every id (e.g. the search
    string of every dcc.Location).

    Pattern-matching (ALL) dependencies are sent as empty lists: no matching component.
    """
    values = values or {}

    def deps(items):
        return [
            (
                d["id"],
                d["property"],
                values.get((d["id"], d["property"]), values.get(("*", d["property"]))),
            )
            for d in items
        ]

    outputs = output_parts(key)
    body = callback_body(outputs, deps(spec["inputs"]), deps(spec["state"]))
    body["output"] = key
    if any(cid.startswith("{") for cid, _ in outputs):
        specs = body["outputs"] if isinstance(body["outputs"], list) else [body["outputs"]]
        specs = [[] if s["id"].startswith("{") else s for s in specs]
        body["outputs"] = specs if len(outputs) > 1 else specs[0]
    for part in ("inputs", "state"):
        body[part] = [[] if d["id"].startswith("{") else d for d in body[part]]
    body["changedPropIds"] = [f"{trigger[0]}.{trigger[1]}"] if trigger else []
    return body


def post(client, body: dict):
    return client.post("/_dash-update-component", json=body)


def audit_count(url: str, action: str) -> int:
    with session_scope(get_engine(url)) as session:
        return len(audit.recent(session, limit=100_000, action=action))


def audit_events(url: str, action: str, limit: int = 20) -> list[dict]:
    with session_scope(get_engine(url)) as session:
        return audit.recent(session, limit=limit, action=action)


# --- every request is checked --------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/login", "/healthz", "/assets/app.css", "/assets/00-bootstrap.min.css", "/_favicon.ico"],
)
def test_open_paths(demo_app, path):
    assert demo_app.server.test_client().get(path).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/attendance",
        "/admin",
        "/impact?from=2025-04-01",
        "/no-such-page",
        "/loginx",
        "/healthz/more",
        "/favicon.ico",
        "/static/anything",
    ],
)
def test_anonymous_pages_redirect_to_login(demo_app, path):
    response = demo_app.server.test_client().get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize(
    "path",
    [
        "/_dash-layout",
        "/_dash-dependencies",
        "/_reload-hash",
        "/_dash-component-suites/dash/dcc/dash_core_components.js",
        "/download/anything",
    ],
)
def test_anonymous_dash_data_is_refused(demo_app, path):
    assert demo_app.server.test_client().get(path).status_code == 401


def test_dash_mcp_is_never_served(client_for):
    assert client_for("admin").get("/_mcp").status_code == 404


def test_every_callback_refuses_anonymous(demo_app):
    client = demo_app.server.test_client()
    found = callbacks(demo_app)
    assert len(found) > 10
    for key, spec in found:
        response = post(client, body_for(key, spec, {("*", "search"): FY}))
        assert response.status_code == 401, key
        assert MEMBER_CODE.search(response.get_data(as_text=True)) is None


def test_every_callback_id_belongs_to_a_page_or_the_shell(demo_app):
    """The guard maps an id's prefix to its page: an id of no page is refused to all."""
    strays = {
        cid
        for key, spec in callbacks(demo_app)
        for cid in component_ids(key, spec)
        if prefix(cid) not in SHELL | PAGE_PREFIXES
    }
    assert strays == set()


def guard_refusals(url: str) -> int:
    """Refused callback requests (403) in the audit log; a page's callbacks may audit
    refusals of their own (e.g. the Releases section of /impact), answered with a message."""
    events = audit_events(url, "refused", 100_000)
    return sum(1 for e in events if e["detail"].startswith("callback "))


def test_funder_is_refused_callbacks_outside_his_pages(demo_app, client_for, demo_url):
    client = client_for("funder")
    refused_before = guard_refusals(demo_url)
    refused = allowed = 0
    for key, spec in callbacks(demo_app):
        pages = page_prefixes(key, spec)
        response = post(client, body_for(key, spec, {("*", "search"): FY}))
        if pages - ROLE_PREFIXES["funder"]:
            assert response.status_code == 403, key
            refused += 1
        else:
            assert response.status_code not in (401, 403), key
            allowed += 1
    assert refused > 10 and allowed >= 4  # impact and shell callbacks at least
    assert guard_refusals(demo_url) == refused_before + refused
    assert audit_events(demo_url, "refused", 1)[0]["user"] == "funder"


def test_admin_callbacks_refused_to_every_other_role(demo_app, client_for):
    admin_callbacks = [(k, s) for k, s in callbacks(demo_app) if "admin" in page_prefixes(k, s)]
    assert len(admin_callbacks) >= 5
    for role in ("leadership", "funder", "coord-calgary"):
        client = client_for(role)
        for key, spec in admin_callbacks:
            assert post(client, body_for(key, spec)).status_code == 403, (role, key)


def test_a_crafted_request_cannot_disguise_a_page_callback(demo_app, client_for):
    """Dash runs the function registered under "output": the ids it was registered with
    count, whatever ids the request names; and ids the request adds count too."""
    client = client_for("funder")
    key = next(k for k in demo_app.callback_map if k.startswith("..admin-users.rowData"))
    body = {
        "output": key,
        "outputs": [{"id": "url", "property": "search"}] * 4,
        "inputs": [{"id": "url", "property": "search", "value": FY}],
        "state": [],
        "changedPropIds": ["url.search"],
    }
    assert post(client, body).status_code == 403
    # An allowed callback with a page's pattern-matching id slipped into its inputs.
    cards = next(k for k in demo_app.callback_map if "overview-value-sessions_held" in k)
    body = body_for(cards, demo_app.callback_map[cards], {("url", "search"): FY})
    body["inputs"].append(
        {"id": {"type": "admin-x", "index": 1}, "property": "value", "value": None}
    )
    assert post(client, body).status_code == 403
    # A callback that doesn't exist.
    body["output"] = "admin-nothing.children"
    assert post(client, body).status_code == 400


# --- a coordinator's networks ---------------------------------------------------------------


def test_coordinator_asking_for_another_network_gets_none_of_it(demo_app, client_for, demo_url):
    client = client_for("coord-calgary")
    before = audit_count(demo_url, "refused")
    edmonton = run_callback(client, demo_app, CARDS, [("url", "search", FY + "&network=Edmonton")])
    assert edmonton["overview-value-sessions_held"]["children"] == "0"
    assert edmonton["overview-value-men_reached"]["children"] == "0"
    events = audit_events(demo_url, "refused", 5)
    assert audit_count(demo_url, "refused") > before
    assert any(e["user"] == "coord-calgary" and "Edmonton" in e["detail"] for e in events)
    # Asking for both networks gives exactly his own network's figures.
    both = run_callback(
        client, demo_app, CARDS, [("url", "search", FY + "&network=Calgary&network=Edmonton")]
    )
    own = run_callback(client, demo_app, CARDS, [("url", "search", FY + "&network=Calgary")])
    admin = run_callback(
        client_for("admin"), demo_app, CARDS, [("url", "search", FY + "&network=Calgary")]
    )
    assert both == own == admin
    # The side-by-side table shows no Edmonton column either.
    table = run_callback(
        client,
        demo_app,
        "overview-networks.children",
        [("url", "search", FY + "&network=Edmonton")],
    )
    assert "Edmonton" not in json.dumps(table)


def test_coordinator_group_choices_stay_in_his_networks(demo_app, client_for, demo_url):
    from dashboard import queries

    with get_engine(demo_url).connect() as conn:
        edmonton_groups = {g["name"] for g in queries.group_options(conn, ("Edmonton",))}
    options = run_callback(
        client_for("coord-calgary"),
        demo_app,
        "filter-group.options",
        [("filter-network", "value", ["Edmonton"])],
    )
    names = {o["value"] for o in options["filter-group"]["options"]}
    assert names and not names & edmonton_groups


# --- member-level rows and small cells -------------------------------------------------------


def _download_cells(value: dict) -> list:
    """The rows of a download (dcc.send_*): CSV text, or an XLSX workbook's cells."""
    content = value.get("content") or ""
    if not value.get("base64"):
        return list(csv.reader(io.StringIO(content)))
    raw = base64.b64decode(content)
    if raw[:2] != b"PK":  # a PDF: compressed streams, not scanned
        return []
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True)
    return [[list(row) for row in sheet.iter_rows(values_only=True)] for sheet in book]


# Component properties that carry what the user reads (the rest is presentation).
SHOWN_PROPS = {"children", "figure", "rowData", "data", "value", "options", "label", "title"}
TRACE_KEYS = {"y", "z", "text", "values", "customdata", "hovertext"}


def shown(node, path=()):
    """(path, value) of everything a callback response shows or hands to the browser:
    component text, figure data (not layout), grid rows, stores, downloads' cells."""
    if isinstance(node, dict):
        if "data" in node and "layout" in node:  # a plotly figure
            for i, trace in enumerate(node["data"] or []):
                keys = TRACE_KEYS | ({"x"} if trace.get("orientation") == "h" else set())
                for key in keys & trace.keys():
                    yield from shown(trace[key], (*path, "data", i, key))
        elif "props" in node and "type" in node:  # a component
            for key in SHOWN_PROPS & node["props"].keys():
                yield from shown(node["props"][key], (*path, key))
        elif "content" in node and "filename" in node:  # a download
            yield from shown(_download_cells(node), (*path, "download"))
        else:
            for key, value in node.items():
                if key not in ("columnDefs", "style", "className", "config"):
                    yield from shown(value, (*path, key))
    elif isinstance(node, (list, tuple)):
        for index, value in enumerate(node):
            yield from shown(value, (*path, index))
    else:
        yield path, node


def shown_values(response) -> list[tuple]:
    payload = response.get_json(silent=True) or {}
    return list(shown(payload.get("response") or {}))


def shown_text(response) -> str:
    return "\n".join(str(v) for _, v in shown_values(response))


def every_response(client, app, role: str, searches: list[str]):
    """Each callback the role may use, for each filter set, triggered by each of its inputs
    (buttons clicked once); read-only pages only: the data page's writes are left out."""
    for key, spec in allowed_callbacks(app, role):
        if "data" in page_prefixes(key, spec):
            continue
        for search in searches:
            # A PDF can't be scanned (compressed streams) and takes seconds to draw: its
            # figures are those of the page and the CSV, which are scanned.
            triggers = [
                (d["id"], d["property"])
                for d in spec["inputs"]
                if not d["id"].startswith("{") and "pdf" not in d["id"]
            ] or [None]
            for trigger in triggers:
                body = body_for(key, spec, request_values(search, trigger), trigger)
                response = post(client, body)
                assert response.status_code in (200, 204), (
                    key,
                    search,
                    response.status_code,
                    response.data[:300],
                )
                yield key, body, response


def request_values(search: str, trigger) -> dict:
    values = {("*", "search"): search, ("*", "pathname"): "/"}
    if trigger and trigger[1] == "n_clicks":
        values[trigger] = 1
    return values


def test_no_member_codes_for_funder_and_leadership(demo_app, client_for):
    searches = [FY, "?from=2025-06-01&to=2025-06-30&grain=week&network=Edmonton"]
    for role in ("funder", "leadership"):
        client = client_for(role)
        seen = 0
        for key, body, response in every_response(client, demo_app, role, searches):
            for text in (response.get_data(as_text=True), shown_text(response)):
                found = MEMBER_CODE.findall(text)
                assert not found, (role, key, body["inputs"], found[:3])
            seen += 1
        assert seen > 5


def test_calgary_coordinator_sees_no_edmonton_member(demo_app, client_for):
    client = client_for("coord-calgary")
    codes = set()
    for search in (FY, FY + "&network=Edmonton", FY + "&network=Calgary&network=Edmonton"):
        for key, _, response in every_response(client, demo_app, "coord-calgary", [search]):
            found = set(MEMBER_CODE.findall(response.get_data(as_text=True)))
            found |= set(MEMBER_CODE.findall(shown_text(response)))
            assert all(code.startswith("CGY-") for code in found), (key, search, found)
            codes |= found
    assert codes, "the Calgary coordinator should see his own members somewhere"


def test_calgary_coordinator_cannot_open_an_edmonton_roster(demo_app, client_for, demo_url):
    """The data page's attendance entry lists a group's men: a crafted Edmonton group
    shows none of them."""
    from dashboard import queries

    roster = [(k, s) for k, s in demo_app.callback_map.items() if "data-entry-roster" in k]
    if not roster:
        pytest.skip("the data page has no attendance entry")
    key, spec = roster[0]
    with get_engine(demo_url).connect() as conn:
        group = queries.group_options(conn, ("Edmonton",))[0]["name"]
    values = {
        ("data-entry-group", "value"): group,
        ("data-entry-date", "date"): "2025-06-02",
        ("data-entry-date", "value"): "2025-06-02",
    }
    body = body_for(key, spec, values, ("data-entry-group", "value"))
    response = post(client_for("coord-calgary"), body)
    assert response.status_code in (200, 204)
    assert not MEMBER_CODE.search(response.get_data(as_text=True))
    admin = post(client_for("admin"), body)  # the same request shows an admin the men
    assert MEMBER_CODE.search(admin.get_data(as_text=True))


def count_like(value) -> int | None:
    """A whole number as a count is sent (3, "3", "1,234"), else None. Floats are left out:
    a share or mean can be whole by chance (4.0 %)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{1,3}(,\d{3})*", value.strip()):
        return int(value.replace(",", ""))
    return None


def small_leaks(exact, theirs, everything_hidden, k: int) -> list:
    """Places where the funder sees the admin's small count although suppression acts on
    that place (with a huge threshold the value there is hidden): an inconsistent cell."""
    hidden = dict(shown_values(everything_hidden))
    funder = dict(shown_values(theirs))
    leaks = []
    for path, value in shown_values(exact):
        count = count_like(value)
        if count is None or count >= k:
            continue
        if funder.get(path, object()) == value and path in hidden and hidden[path] != value:
            leaks.append((path, value))
    return leaks


def test_funder_sees_no_count_below_the_threshold(demo_app, demo_settings, client_for):
    """Every callback a funder may use, for filter sets with small cells, compared with the
    admin's exact figures and with the funder's figures when everything is hidden."""
    from dashboard.app_factory import create_app

    k = demo_settings.suppression_threshold
    hide_all = create_app(replace(demo_settings, suppression_threshold=10**9), prepare=False)
    hidden_client = hide_all.server.test_client()
    assert login(hidden_client, "funder").status_code == 302
    admin, funder = client_for("admin"), client_for("funder")
    searches = [
        SMALL,
        FY + "&age=55-64&community=GBT2SQ%2B&network=Calgary",
        "?from=2025-06-01&to=2025-06-14&grain=week&age=18-24",
    ]
    # The filter sets do have small cells, seen exactly by the admin.
    small = [
        run_callback(admin, demo_app, CARDS, [("url", "search", s)])["overview-value-men_reached"][
            "children"
        ]
        for s in searches
    ]
    assert any(int(v.replace(",", "")) < k for v in small), small
    checked = 0
    for key, body, theirs in every_response(funder, demo_app, "funder", searches):
        if theirs.status_code == 204:
            continue
        leaks = small_leaks(post(admin, body), theirs, post(hidden_client, body), k)
        assert not leaks, (key, body["inputs"], leaks[:5])
        checked += 1
    assert checked > 5


# A world where every count of men is 3 (three men, seven sessions of one Calgary group,
# a baseline and an exit survey each): a funder must never see a 3 that counts men.
CANARY = 3


@pytest.fixture
def canary_app(engine, database_url):
    from dashboard.app_factory import create_app
    from dashboard.settings import Settings
    from tests.factories import Builder

    with session_scope(engine) as session:
        world = Builder(session)
        world.network("Calgary")
        world.network("Edmonton")
        world.group("Canary circle", "Calgary", capacity=12, start="2025-04-01")
        world.group("Quiet circle", "Edmonton", capacity=12, start="2025-04-01")
        codes = [f"CGY-00000{i}" for i in range(1, CANARY + 1)]
        for code in codes:
            world.member(code, "Calgary", age_band="35-44", communities=("newcomer",))
            world.enroll(code, "Canary circle", "2025-04-01")
        for week in range(7):
            date = (dt.date(2025, 5, 5) + dt.timedelta(weeks=week)).isoformat()
            world.session("Canary circle", date, {code: "present" for code in codes})
            world.session("Quiet circle", date)
        for i, code in enumerate(codes):
            world.survey(code, "swemwbs", "2025-05-05", "baseline", [2, 2, 3, 2, 2, 3, 2])
            world.survey(code, "swemwbs", "2025-06-16", "exit", [4, 4, 4, 3 + i % 2, 4, 4, 4])
            world.survey(code, "ucla-3", "2025-05-05", "baseline", [3, 3, 2])
            world.survey(code, "ucla-3", "2025-06-16", "exit", [1, 2, 1])
        world.done()
        for username, role in (("admin", "admin"), ("funder", "funder")):
            create_user(session, username, role, [], TEST_PASSWORD)
    settings = Settings(database_url=database_url, secret_key="test-secret", demo_mode=False)
    return create_app(settings, prepare=False)


def test_funder_never_sees_a_count_of_three_men(canary_app):
    admin, funder = canary_app.server.test_client(), canary_app.server.test_client()
    assert login(admin, "admin").status_code == 302
    assert login(funder, "funder").status_code == 302
    searches = [FY, FY + "&grain=week", FY + "&network=Calgary"]
    cards = run_callback(admin, canary_app, CARDS, [("url", "search", FY)])
    assert cards["overview-value-men_reached"]["children"] == str(CANARY)  # the world works
    checked = 0
    for key, body, response in every_response(funder, canary_app, "funder", searches):
        leaks = [
            (path, value) for path, value in shown_values(response) if count_like(value) == CANARY
        ]
        assert not leaks, (key, body["inputs"], leaks[:5])
        assert not MEMBER_CODE.search(response.get_data(as_text=True) + shown_text(response))
        checked += 1
    assert checked > 5


# --- sign-in: passwords, throttling, sessions -------------------------------------------------


def test_passwords_are_hashed_with_scrypt(demo_url):
    with session_scope(get_engine(demo_url)) as session:
        hashes = session.scalars(select(User.password_hash)).all()
    assert hashes and all(h.startswith("scrypt:") for h in hashes)
    assert not any(TEST_PASSWORD in h for h in hashes)


def test_failed_sign_in_is_audited_and_a_long_name_is_no_error(demo_app, demo_url):
    client = demo_app.server.test_client()
    response = login(client, "x" * 300, "wrong-password")
    assert response.status_code == 401
    assert b"Wrong username or password" in response.data
    event = audit_events(demo_url, "login-failed", 1)[0]
    assert event["user"] == "x" * 60 and event["address"] == "127.0.0.1"


def test_wrong_passwords_for_one_account_are_throttled(demo_app, demo_url):
    # From five different addresses: the account's own limit applies.
    for i in range(5):
        client = demo_app.server.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.0.0.{i + 1}"
        assert login(client, "coord-edmonton", "wrong-password").status_code == 401
    client = demo_app.server.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.0.0.99"
    throttled = login(client, "coord-edmonton")  # even the right password, for now
    assert throttled.status_code == 429
    assert b"Too many failed sign-ins" in throttled.data
    assert audit_events(demo_url, "login-throttled", 1)[0]["user"] == "coord-edmonton"
    # Other accounts from other addresses are not held up.
    other = demo_app.server.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.0.1.1"
    assert login(other, "coord-calgary").status_code == 302


def test_wrong_passwords_from_one_address_are_throttled(demo_app):
    client = demo_app.server.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.0.2.1"
    for i in range(5):
        assert login(client, f"nobody-{i}", "wrong-password").status_code == 401
    assert login(client, "leadership").status_code == 429
    elsewhere = demo_app.server.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "10.0.2.2"
    assert login(elsewhere, "leadership").status_code == 302


def test_successful_sign_ins_are_not_counted(demo_app):
    client = demo_app.server.test_client()
    for _ in range(8):
        assert login(client, "funder").status_code == 302


@pytest.fixture
def temp_user(demo_url):
    """A user of his own for one test (the demo database is shared by the run)."""
    name = f"temp-{time.monotonic_ns()}"
    with session_scope(get_engine(demo_url)) as session:
        create_user(session, name, "coordinator", ["Calgary"], TEST_PASSWORD, by="test")
    return name


def _signed_in(demo_app, username: str):
    client = demo_app.server.test_client()
    assert login(client, username).status_code == 302
    assert client.get("/_dash-layout").status_code == 200
    return client


def _assert_signed_out(client):
    assert client.get("/_dash-layout").status_code == 401
    page = client.get("/attendance")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")


def test_deactivated_user_session_stops_working(demo_app, demo_url, temp_user):
    client = _signed_in(demo_app, temp_user)
    with session_scope(get_engine(demo_url)) as session:
        set_active(session, temp_user, False, by="test")
    _assert_signed_out(client)
    assert login(demo_app.server.test_client(), temp_user).status_code == 401


@pytest.mark.parametrize("change", ["role", "password"])
def test_role_change_or_password_reset_ends_sessions(demo_app, demo_url, temp_user, change):
    client = _signed_in(demo_app, temp_user)
    with session_scope(get_engine(demo_url)) as session:
        if change == "role":
            update_user(session, temp_user, "funder", [], by="test")
        else:
            set_password(session, temp_user, "another-password-2", by="test")
    _assert_signed_out(client)


def test_session_expires_after_inactivity(demo_app, client_for):
    client = client_for("funder")
    demo_app.server.config["PERMANENT_SESSION_LIFETIME"] = 1  # seconds
    assert client.get("/_dash-layout").status_code == 200
    time.sleep(2.2)
    assert client.get("/_dash-layout").status_code == 401


def test_each_request_renews_the_session(demo_app, client_for):
    client = client_for("funder")
    response = client.get("/_dash-layout")
    assert "session=" in response.headers.get("Set-Cookie", "")


def test_session_cookie_settings(demo_app):
    response = login(demo_app.server.test_client(), "funder")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    assert "Expires=" in cookie  # a permanent session, with the inactivity lifetime
    config = demo_app.server.config
    assert config["SESSION_REFRESH_EACH_REQUEST"] is True
    assert config["PERMANENT_SESSION_LIFETIME"].total_seconds() == 30 * 60


def test_demo_mode_cookie_works_over_plain_http(demo_settings):
    from dashboard.app_factory import create_app

    app = create_app(replace(demo_settings, demo_mode=True), prepare=False)
    assert app.server.config["SESSION_COOKIE_SECURE"] is False
    assert app.server.config["SECRET_KEY"] == "test-secret"


def test_a_cookie_signed_with_another_key_is_refused(demo_app, demo_settings, client_for):
    from dashboard.app_factory import create_app

    client = client_for("admin")
    cookie = client.get_cookie("session")
    assert cookie is not None
    other = create_app(replace(demo_settings, secret_key="another-secret"), prepare=False)
    stranger = other.server.test_client()
    stranger.set_cookie("session", cookie.value)
    assert stranger.get("/_dash-layout").status_code == 401


def test_secret_key_required_outside_demo_mode():
    from dashboard.settings import Settings, SettingsError

    with pytest.raises(SettingsError):
        Settings(secret_key=None, demo_mode=False).resolved_secret_key()


@pytest.mark.parametrize(
    "target, expected",
    [
        ("/attendance?network=Calgary", "/attendance?network=Calgary"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example", "/"),
        ("/\r\nSet-Cookie: x=1", "/"),
        ("/no-such-page", "/"),
    ],
)
def test_sign_in_goes_back_only_to_a_local_page(demo_app, target, expected):
    client = demo_app.server.test_client()
    response = login(client, "admin", next=target)
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_sign_in_to_a_page_out_of_role_lands_on_an_allowed_page(demo_app):
    client = demo_app.server.test_client()
    response = login(client, "funder", next="/admin")
    assert response.headers["Location"] == "/impact"  # a funder's only page


def test_logout_ends_the_session(client_for, demo_url):
    client = client_for("leadership")
    assert logout(client).status_code == 302
    _assert_signed_out(client)
    assert audit_events(demo_url, "logout", 1)[0]["user"] == "leadership"


def test_a_cookie_from_before_sign_out_is_void(demo_app, client_for):
    """A callback in flight at sign-out hands the browser the old cookie again; it must not
    sign him back in."""
    client = client_for("leadership")
    old_cookie = client.get_cookie("session").value
    assert client.get("/_dash-layout").status_code == 200
    logout(client)
    replay = demo_app.server.test_client()
    replay.set_cookie("session", old_cookie)
    assert replay.get("/_dash-layout").status_code == 401
