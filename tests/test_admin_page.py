"""The admin page: users (create, change, deactivate, reset a password) and the audit log.

The demo database is shared by the test run: these tests make users of their own (unique
names) and leave the role users of conftest as they are.
"""

from __future__ import annotations

import itertools
import time

import flask_login
import pytest
from sqlalchemy import select
from werkzeug.exceptions import Forbidden

from callbacks import admin as page
from dashboard import audit
from dashboard.db import get_engine, session_scope
from dashboard.models import User
from dashboard.users import (
    UserError,
    create_user,
    list_users,
    set_active,
    set_password,
    update_user,
)
from layouts.admin import layout
from tests.conftest import TEST_PASSWORD, login
from tests.dash_calls import callback_body, find_callback

ACT = [
    ("admin-message", "children"),
    ("admin-changed", "data"),
    ("admin-new-username", "value"),
    ("admin-new-password", "value"),
    ("admin-edit-password", "value"),
]
BUTTONS = [
    "admin-create",
    "admin-save",
    "admin-deactivate",
    "admin-reactivate",
    "admin-reset-password",
]
NEW_PASSWORD = "a-new-password-9"
_numbers = itertools.count()


def unique(stem: str = "user") -> str:
    return f"{stem}-{time.monotonic_ns() % 10**9}-{next(_numbers)}"


def act(client, button: str, **fields) -> tuple[int, dict]:
    """Press a button of the page's forms, with the forms' fields; returns the outputs."""
    state = [
        ("admin-new-username", "value", fields.get("new_username")),
        ("admin-new-role", "value", fields.get("new_role")),
        ("admin-new-networks", "value", fields.get("new_networks")),
        ("admin-new-password", "value", fields.get("new_password")),
        ("admin-edit-user", "value", fields.get("user")),
        ("admin-edit-role", "value", fields.get("role")),
        ("admin-edit-networks", "value", fields.get("networks")),
        ("admin-edit-password", "value", fields.get("password")),
        ("admin-changed", "data", 0),
    ]
    inputs = [(b, "n_clicks", 1 if b == button else None) for b in BUTTONS]
    body = callback_body(ACT, inputs, state)
    body["changedPropIds"] = [f"{button}.n_clicks"]
    response = client.post("/_dash-update-component", json=body)
    return response.status_code, (response.get_json() or {}).get("response", {})


def alert_of(outputs: dict) -> tuple[str, str]:
    """(colour, text) of the page's message."""
    props = outputs["admin-message"]["children"]["props"]
    return props["color"], props["children"]


def call(client, outputs, inputs, changed=None):
    body = callback_body(outputs, inputs)
    if changed:
        body["changedPropIds"] = [changed]
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200, (response.status_code, response.data[:300])
    return response.get_json()["response"]


def users_grid(client) -> dict:
    out = call(
        client,
        [
            ("admin-users", "rowData"),
            ("admin-edit-user", "options"),
            ("admin-new-networks", "options"),
            ("admin-edit-networks", "options"),
        ],
        [("admin-changed", "data", 0)],
    )
    return {row["username"]: row for row in out["admin-users"]["rowData"]}


def audit_grid(client, action=None) -> dict:
    return call(
        client,
        [
            ("admin-audit", "rowData"),
            ("admin-audit-action", "options"),
            ("admin-audit-note", "children"),
        ],
        [("admin-audit-action", "value", action), ("admin-changed", "data", 0)],
    )


def component_ids(component) -> list:
    found = []
    if hasattr(component, "to_plotly_json"):
        if getattr(component, "id", None) is not None:
            found.append(component.id)
        children = getattr(component, "children", None)
        for child in children if isinstance(children, (list, tuple)) else [children]:
            found += component_ids(child)
    return found


# --- the page ------------------------------------------------------------------------------


def test_layout_ids_start_with_admin():
    from dashboard.access import Scope

    ids = component_ids(layout(Scope(role="admin", username="admin")))
    assert len(ids) > 15
    assert all(str(i).startswith("admin-") for i in ids), ids


def test_users_grid_and_choices(client_for):
    client = client_for("admin")
    out = call(
        client,
        [
            ("admin-users", "rowData"),
            ("admin-edit-user", "options"),
            ("admin-new-networks", "options"),
            ("admin-edit-networks", "options"),
        ],
        [("admin-changed", "data", 0)],
    )
    rows = {r["username"]: r for r in out["admin-users"]["rowData"]}
    assert rows["coord-calgary"] == {
        **rows["coord-calgary"],
        "role": "coordinator",
        "networks": "Calgary",
        "status": "Active",
    }
    assert rows["funder"]["networks"] == "all"
    assert rows["admin"]["last_sign_in"]  # signed in just now
    assert set(rows) >= {"admin", "leadership", "funder", "coord-calgary", "coord-edmonton"}
    assert {"label": "coord-calgary (coordinator)", "value": "coord-calgary"} in out[
        "admin-edit-user"
    ]["options"]
    assert out["admin-new-networks"]["options"] == ["Calgary", "Edmonton"]
    assert "password" not in str(out).lower()  # no hash, ever


def test_create_user_then_sign_in(demo_app, client_for, demo_url):
    client = client_for("admin")
    name = unique("coord")
    status, out = act(
        client,
        "admin-create",
        new_username=name,
        new_role="coordinator",
        new_networks=["Edmonton"],
        new_password=NEW_PASSWORD,
    )
    assert status == 200
    color, text = alert_of(out)
    assert color == "success" and name in text
    assert out["admin-new-password"]["value"] == "" and out["admin-changed"]["data"] == 1
    assert users_grid(client)[name]["networks"] == "Edmonton"
    event = audit_events(demo_url, "user-create")[0]
    assert event["user"] == "admin" and name in event["detail"] and "Edmonton" in event["detail"]
    newcomer = demo_app.server.test_client()
    assert login(newcomer, name, NEW_PASSWORD).status_code == 302
    layout_json = str(newcomer.get("/_dash-layout").get_json())
    assert "Edmonton" in layout_json and "'Calgary'" not in layout_json


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"new_username": "admin", "new_role": "funder"}, "already exists"),
        ({"new_username": "ADMIN", "new_role": "funder"}, "already exists"),
        ({"new_role": "funder", "new_password": "short"}, "at least 12 characters"),
        ({"new_role": "coordinator", "new_networks": []}, "needs at least one network"),
        ({"new_role": "coordinator", "new_networks": ["Red Deer"]}, "unknown network Red Deer"),
        ({"new_role": "superuser"}, "role must be one of"),
        ({"new_username": "two words", "new_role": "funder"}, "letters, digits"),
        ({"new_username": "", "new_role": "funder"}, "a username has 1 to 60"),
    ],
)
def test_create_user_errors_are_shown(client_for, demo_url, fields, message):
    client = client_for("admin")
    name = fields.get("new_username", unique("bad"))
    before = len(users_grid(client))
    status, out = act(
        client, "admin-create", **{"new_username": name, "new_password": NEW_PASSWORD, **fields}
    )
    assert status == 200
    color, text = alert_of(out)
    assert color == "danger" and message.lower() in text.lower(), text
    assert text[0].isupper() and text.endswith(".")
    assert "admin-changed" not in out  # nothing changed: the grids are not re-read
    assert len(users_grid(client)) == before


def test_change_role_and_networks(demo_app, client_for, demo_url):
    admin = client_for("admin")
    name = unique("coord")
    act(
        admin,
        "admin-create",
        new_username=name,
        new_role="coordinator",
        new_networks=["Calgary"],
        new_password=NEW_PASSWORD,
    )
    user = demo_app.server.test_client()
    assert login(user, name, NEW_PASSWORD).status_code == 302
    status, out = act(
        admin, "admin-save", user=name, role="coordinator", networks=["Calgary", "Edmonton"]
    )
    assert alert_of(out)[0] == "success"
    assert users_grid(admin)[name]["networks"] == "Calgary, Edmonton"
    assert user.get("/_dash-layout").status_code == 401  # signs in again for the new scope
    _, out = act(
        admin, "admin-save", user=name, role="coordinator", networks=["Edmonton", "Calgary"]
    )
    assert alert_of(out) == (
        "success",
        f"{name} already has this role and these networks: nothing changed.",
    )
    _, out = act(admin, "admin-save", user=name, role="leadership", networks=["Calgary"])
    assert users_grid(admin)[name] == {
        **users_grid(admin)[name],
        "role": "leadership",
        "networks": "all",
    }
    assert "now leadership" in audit_events(demo_url, "user-change")[0]["detail"]


def test_deactivate_and_reactivate(demo_app, client_for, demo_url):
    admin = client_for("admin")
    name = unique("funder")
    act(admin, "admin-create", new_username=name, new_role="funder", new_password=NEW_PASSWORD)
    user = demo_app.server.test_client()
    assert login(user, name, NEW_PASSWORD).status_code == 302
    _, out = act(admin, "admin-deactivate", user=name)
    assert alert_of(out)[0] == "success"
    assert users_grid(admin)[name]["status"] == "Deactivated"
    assert user.get("/_dash-layout").status_code == 401
    assert login(demo_app.server.test_client(), name, NEW_PASSWORD).status_code == 401
    assert audit_events(demo_url, "user-deactivate")[0]["detail"] == name
    _, out = act(admin, "admin-reactivate", user=name)
    assert alert_of(out)[0] == "success"
    assert login(demo_app.server.test_client(), name, NEW_PASSWORD).status_code == 302


def test_reset_password(demo_app, client_for, demo_url):
    admin = client_for("admin")
    name = unique("lead")
    act(admin, "admin-create", new_username=name, new_role="leadership", new_password=NEW_PASSWORD)
    _, out = act(admin, "admin-reset-password", user=name, password="short")
    assert alert_of(out)[0] == "danger"
    _, out = act(admin, "admin-reset-password", user=name, password="another-password-7")
    assert alert_of(out)[0] == "success" and out["admin-edit-password"]["value"] == ""
    assert login(demo_app.server.test_client(), name, NEW_PASSWORD).status_code == 401
    assert login(demo_app.server.test_client(), name, "another-password-7").status_code == 302
    assert audit_events(demo_url, "user-password")[0] == {
        **audit_events(demo_url, "user-password")[0],
        "user": "admin",
        "detail": name,
    }


def test_an_admin_cannot_lock_himself_out(client_for):
    admin = client_for("admin")
    _, out = act(admin, "admin-deactivate", user="admin")
    assert alert_of(out) == ("danger", "You cannot deactivate your own account: ask another admin.")
    _, out = act(admin, "admin-save", user="admin", role="funder")
    assert alert_of(out)[0] == "danger" and "own role" in alert_of(out)[1]
    assert users_grid(admin)["admin"]["status"] == "Active"


def test_a_change_needs_a_chosen_user(client_for):
    _, out = act(client_for("admin"), "admin-deactivate")
    assert alert_of(out)[0] == "warning" and "Choose a user" in alert_of(out)[1]


def test_choosing_a_user_fills_the_form(client_for):
    client = client_for("admin")
    outputs = [
        ("admin-edit-role", "value"),
        ("admin-edit-networks", "value"),
        ("admin-edit-status", "children"),
        ("admin-save", "disabled"),
        ("admin-deactivate", "disabled"),
        ("admin-reactivate", "disabled"),
        ("admin-reset-password", "disabled"),
    ]
    out = call(
        client,
        outputs,
        [("admin-edit-user", "value", "coord-calgary"), ("admin-changed", "data", 0)],
    )
    assert out["admin-edit-role"]["value"] == "coordinator"
    assert out["admin-edit-networks"]["value"] == ["Calgary"]
    assert out["admin-deactivate"]["disabled"] is False
    assert out["admin-reactivate"]["disabled"] is True
    empty = call(
        client, outputs, [("admin-edit-user", "value", None), ("admin-changed", "data", 0)]
    )
    assert empty["admin-save"]["disabled"] is True
    picked = call(
        client,
        [("admin-edit-user", "value")],
        [("admin-users", "selectedRows", [{"username": "funder"}])],
        "admin-users.selectedRows",
    )
    assert picked["admin-edit-user"]["value"] == "funder"
    roles = call(
        client,
        [("admin-new-networks", "disabled"), ("admin-edit-networks", "disabled")],
        [("admin-new-role", "value", "funder"), ("admin-edit-role", "value", "coordinator")],
    )
    assert roles["admin-new-networks"]["disabled"] is True
    assert roles["admin-edit-networks"]["disabled"] is False


def test_audit_log_with_a_filter_by_action(client_for):
    client = client_for("admin")
    login(client, "nobody-at-all", "wrong-password")  # a failed sign-in is in the log
    login(client, "admin", TEST_PASSWORD)
    everything = audit_grid(client)
    actions = everything["admin-audit-action"]["options"]
    assert {"login", "login-failed", "user-create"} <= set(actions)
    assert everything["admin-audit"]["rowData"][0]["action"] == "login"  # newest first
    failed = audit_grid(client, "login-failed")["admin-audit"]["rowData"]
    assert failed and {r["action"] for r in failed} == {"login-failed"}
    assert any(r["user"] == "nobody-at-all" for r in failed)
    assert (
        "'login-failed' events"
        in audit_grid(client, "login-failed")["admin-audit-note"]["children"]
    )


def test_csv_downloads_are_audited(client_for, demo_url):
    client = client_for("admin")
    out = call(
        client,
        [("admin-audit", "exportDataAsCsv")],
        [("admin-audit-csv", "n_clicks", 1)],
        "admin-audit-csv.n_clicks",
    )
    assert out["admin-audit"]["exportDataAsCsv"] is True
    event = audit_events(demo_url, "export")[0]
    assert event["user"] == "admin" and event["detail"] == "audit-log.csv"


# --- other roles ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["leadership", "funder", "coord-calgary"])
def test_the_page_is_not_available_to_other_roles(client_for, role):
    client = client_for(role)
    page_out = call(
        client, [("page", "children"), ("filter-bar", "style")], [("url", "pathname", "/admin")]
    )
    assert "Not available" in str(page_out["page"]["children"])
    assert "admin-users" not in str(page_out)
    status, _ = act(
        client, "admin-create", new_username=unique(), new_role="admin", new_password=NEW_PASSWORD
    )
    assert status == 403


@pytest.mark.parametrize("role", ["leadership", "funder", "coordinator"])
def test_each_admin_callback_checks_the_role_itself(demo_app, demo_url, role):
    """Defence in depth: called past the server's guard, every callback still refuses."""
    from dashboard.auth import SignedInUser
    from dashboard.users import network_names_of

    username = {"leadership": "leadership", "funder": "funder", "coordinator": "coord-calgary"}[
        role
    ]
    with session_scope(get_engine(demo_url)) as session:
        user = session.scalar(select(User).where(User.username == username))
        signed_in = SignedInUser(user, network_names_of(session, user))
    functions = [
        (page.load_users, (0,)),
        (page.load_audit, (None, 0)),
        (page.pick_row, ([{"username": "admin"}],)),
        (page.show_user, ("admin", 0)),
        (page.networks_enabled, ("admin", "admin")),
        (
            page.act,
            (1, None, None, None, None, "x", "admin", [], NEW_PASSWORD, None, None, None, None, 0),
        ),
        (page.export_users, (1,)),
        (page.export_audit, (1,)),
        (page.load_networks, (0,)),
        (page.network_act, (1, None, "Banff", None, None, 0)),
    ]
    with demo_app.server.test_request_context("/_dash-update-component", method="POST"):
        flask_login.login_user(signed_in)
        for function, args in functions:
            with pytest.raises(Forbidden):
                function(*args)
    registered = {
        spec["callback"].__wrapped__
        for key, spec in demo_app.callback_map.items()
        if key.startswith(("admin-", "..admin-")) and spec.get("callback")
    }
    assert len(registered) == 10 and registered <= {f for f, _ in functions}


# --- dashboard/users.py ----------------------------------------------------------------------


@pytest.fixture
def networks(session):
    from dashboard.models import Network

    session.add_all([Network(name="Calgary"), Network(name="Edmonton")])
    session.flush()


def test_last_active_admin_is_kept(session, networks):
    create_user(session, "boss", "admin", [], TEST_PASSWORD)
    create_user(session, "helper", "leadership", [], TEST_PASSWORD)
    with pytest.raises(UserError, match="last active admin"):
        set_active(session, "boss", False, by="cli")
    with pytest.raises(UserError, match="last active admin"):
        update_user(session, "boss", "leadership", [], by="cli")
    update_user(session, "helper", "admin", [], by="boss")
    set_active(session, "boss", False, by="helper")  # another admin remains
    with pytest.raises(UserError, match="last active admin"):
        set_active(session, "helper", False, by="cli")


def test_usernames_are_unique_whatever_the_case(session, networks):
    create_user(session, "Sam", "funder", [], TEST_PASSWORD)
    with pytest.raises(UserError, match="already exists"):
        create_user(session, "sam", "funder", [], TEST_PASSWORD)


def test_networks_belong_to_coordinators_only(session, networks):
    create_user(session, "lead", "leadership", ["Calgary"], TEST_PASSWORD)
    create_user(session, "coord", "coordinator", ["Edmonton", "Calgary"], TEST_PASSWORD)
    rows = {r["username"]: r for r in list_users(session)}
    assert rows["lead"]["networks"] == [] and rows["coord"]["networks"] == ["Calgary", "Edmonton"]
    details = [e["detail"] for e in audit.recent(session, action="user-create")]
    assert details == ["coord as coordinator of Calgary, Edmonton", "lead as leadership"]


def test_changes_end_sessions_and_unchanged_is_no_change(session, networks):
    user = create_user(session, "coord", "coordinator", ["Calgary"], TEST_PASSWORD)
    version = user.session_version
    assert update_user(session, "coord", "coordinator", ["Calgary"]) is False
    assert user.session_version == version
    assert update_user(session, "coord", "coordinator", ["Edmonton"]) is True
    set_password(session, "coord", NEW_PASSWORD)
    set_active(session, "coord", False)
    assert user.session_version == version + 3


def test_last_sign_in_comes_from_the_audit_log(session, networks):
    create_user(session, "coord", "coordinator", ["Calgary"], TEST_PASSWORD)
    assert list_users(session)[0]["last_sign_in"] == ""
    audit.record(session, "login", "coord", "coordinator")
    session.flush()
    assert list_users(session)[0]["last_sign_in"]


def audit_events(url: str, action: str) -> list[dict]:
    with session_scope(get_engine(url)) as session:
        return audit.recent(session, limit=5, action=action)


# --- networks: on a database of their own (the demo's networks stay as they are) -------------

NETWORK_ACT = [
    ("admin-network-message", "children"),
    ("admin-changed", "data"),
    ("admin-network-name", "value"),
    ("admin-network-new", "value"),
]


@pytest.fixture
def new_deployment(engine, database_url):
    """An app on an empty non-demo database with one admin, signed in: (app, client)."""
    from dashboard.app_factory import create_app
    from dashboard.settings import Settings

    with session_scope(engine) as session:
        create_user(session, "ada", "admin", [], TEST_PASSWORD)
    app = create_app(
        Settings(database_url=database_url, secret_key="test-secret", demo_mode=False),
        prepare=False,
    )
    client = app.server.test_client()
    assert login(client, "ada").status_code == 302
    return app, client


def network_act(client, button: str, name=None, old=None, new=None) -> tuple[int, dict]:
    key, spec = find_callback(
        client.application.extensions["dash_app"], "admin-network-message.children"
    )
    inputs = [
        ("admin-network-add", "n_clicks", 1 if button == "admin-network-add" else None),
        ("admin-network-rename", "n_clicks", 1 if button == "admin-network-rename" else None),
    ]
    state = [
        ("admin-network-name", "value", name),
        ("admin-network-old", "value", old),
        ("admin-network-new", "value", new),
        ("admin-changed", "data", 0),
    ]
    body = callback_body(NETWORK_ACT, inputs, state)
    body["output"] = key  # the duplicate output's key carries Dash's suffix
    body["changedPropIds"] = [f"{button}.n_clicks"]
    response = client.post("/_dash-update-component", json=body)
    return response.status_code, (response.get_json() or {}).get("response", {})


def network_alert(outputs: dict) -> tuple[str, str]:
    props = outputs["admin-network-message"]["children"]["props"]
    return props["color"], props["children"]


def network_choices(client) -> tuple[str, list]:
    out = call(
        client,
        [("admin-networks-list", "children"), ("admin-network-old", "options")],
        [("admin-changed", "data", 1)],
    )
    return out["admin-networks-list"]["children"], out["admin-network-old"]["options"]


def test_admin_adds_and_renames_networks(new_deployment, engine):
    app, client = new_deployment
    assert network_choices(client) == ("No networks yet.", [])
    status, out = network_act(client, "admin-network-add", name="Red  Deer")
    assert status == 200 and network_alert(out) == ("success", "Added the network Red Deer.")
    assert out["admin-changed"]["data"] == 1 and out["admin-network-name"]["value"] == ""
    # The users form offers it at once (option lists are cached by data version).
    out = call(
        client,
        [
            ("admin-users", "rowData"),
            ("admin-edit-user", "options"),
            ("admin-new-networks", "options"),
            ("admin-edit-networks", "options"),
        ],
        [("admin-changed", "data", 1)],
    )
    assert out["admin-new-networks"]["options"] == ["Red Deer"]
    status, out = network_act(client, "admin-network-add", name="red deer")
    assert network_alert(out) == (
        "success",
        "The network Red Deer exists already: nothing changed.",
    )
    status, out = network_act(client, "admin-network-rename", old="Red Deer", new="Central")
    assert (
        network_alert(out)[0] == "success"
        and "Renamed Red Deer to Central" in network_alert(out)[1]
    )
    assert network_choices(client) == ("1 network(s): Central.", ["Central"])
    with session_scope(engine) as session:
        events = audit.recent(session, limit=10)
    done = [
        (e["user"], e["action"], e["detail"]) for e in events if e["action"].startswith("network")
    ]
    assert done == [
        ("ada", "network-rename", "Red Deer -> Central"),
        ("ada", "network-create", "Red Deer"),
    ]


@pytest.mark.parametrize(
    "button, fields, colour, message",
    [
        ("admin-network-add", {"name": ""}, "danger", "is not a network name"),
        ("admin-network-add", {"name": "A, B"}, "danger", "is not a network name"),
        ("admin-network-rename", {"new": "X"}, "warning", "Choose the network to rename"),
        ("admin-network-rename", {"old": "Nowhere", "new": "X"}, "danger", "No network 'Nowhere'"),
    ],
)
def test_network_errors_are_shown(new_deployment, button, fields, colour, message):
    _, client = new_deployment
    status, out = network_act(client, button, **fields)
    assert status == 200
    got_colour, text = network_alert(out)
    assert got_colour == colour and message in text, text
    assert "admin-changed" not in out
    assert network_choices(client)[1] == []


def test_other_roles_cannot_add_networks(client_for):
    client = client_for("leadership")
    status, _ = network_act(client, "admin-network-add", name="Banff")
    assert status == 403
