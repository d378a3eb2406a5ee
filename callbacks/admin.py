"""Admin callbacks: the users grid and forms, the networks, and the audit log. Admins only.

Every change goes through dashboard/users.py or dashboard/networks.py (which check and audit
it); their UserError or NetworkError message is shown as it is. Each callback checks the admin
role itself, although the server's guard already refuses "admin-" callbacks to other roles.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, no_update

from dashboard import audit, queries
from dashboard.auth import require_role
from dashboard.db import session_scope
from dashboard.networks import NetworkError, create_network, network_list, rename_network
from dashboard.service import current_service
from dashboard.users import (
    UserError,
    create_user,
    list_users,
    set_active,
    set_password,
    update_user,
)

AUDIT_LIMIT = 500  # events shown; older ones stay in the database
ACTION_BUTTONS = [
    "admin-create",
    "admin-save",
    "admin-deactivate",
    "admin-reactivate",
    "admin-reset-password",
]


def _engine():
    return current_service().engine


def alert(text: str, color: str, alert_id: str = "admin-alert") -> dbc.Alert:
    return dbc.Alert(text, color=color, dismissable=True, className="py-2", id=alert_id)


def network_alert(text: str, color: str) -> dbc.Alert:
    return alert(text, color, "admin-network-alert")


def user_rows() -> list[dict]:
    """The users grid's rows."""
    with session_scope(_engine()) as session:
        rows = list_users(session)
    return [
        {
            "username": r["username"],
            "role": r["role"],
            "networks": ", ".join(r["networks"]) if r["role"] == "coordinator" else "all",
            "status": "Active" if r["active"] else "Deactivated",
            "last_sign_in": r["last_sign_in"],
        }
        for r in rows
    ]


def load_users(_changed):
    """Users grid, the user choice and the network choices (re-read after every change)."""
    require_role("admin")
    rows = user_rows()
    users = [
        {
            "label": f"{r['username']} ({r['role']}"
            + ("" if r["status"] == "Active" else ", deactivated")
            + ")",
            "value": r["username"],
        }
        for r in rows
    ]
    networks = current_service().lookup(queries.network_names)
    return rows, users, networks, networks


def load_audit(action, _changed):
    """The latest audit events, of one action or all, and the actions to filter by."""
    require_role("admin")
    with session_scope(_engine()) as session:
        rows = audit.recent(session, limit=AUDIT_LIMIT, action=action or None)
        actions = audit.actions(session)
    what = f"'{action}' events" if action else "events"
    note = f"The latest {len(rows):,} {what}, newest first" + (
        " (the log keeps older ones; download or filter to see them)."
        if len(rows) == AUDIT_LIMIT
        else "."
    )
    return rows, actions, note


def pick_row(selected):
    """A click on a user's row chooses that user in the form."""
    require_role("admin")
    if not selected:
        return no_update
    return selected[0]["username"]


def show_user(username, _changed):
    """The chosen user's role and networks in the form; buttons that apply."""
    require_role("admin")
    with session_scope(_engine()) as session:
        row = next((r for r in list_users(session) if r["username"] == username), None)
    if row is None:
        return None, [], "", True, True, True, True
    active = row["active"]
    status = f"{row['username']}: {row['role']}, {'active' if active else 'deactivated'}" + (
        f", last signed in {row['last_sign_in']} (UTC)"
        if row["last_sign_in"]
        else ", never signed in"
    )
    return row["role"], row["networks"], status, False, not active, active, False


def networks_enabled(new_role, edit_role):
    """Networks only mean something for a coordinator."""
    require_role("admin")
    return new_role != "coordinator", edit_role != "coordinator"


def create(session, by: str, username, role, networks, password) -> str:
    create_user(
        session, username or "", role or "", _networks(role, networks), password or "", by=by
    )
    return f"Added {username.strip()} as {role}."


def save(session, by: str, username, role, networks) -> str:
    changed = update_user(session, username, role or "", _networks(role, networks), by=by)
    if not changed:
        return f"{username} already has this role and these networks: nothing changed."
    return f"{username} is now {role}; their open sessions have ended."


def deactivate(session, by: str, username) -> str:
    set_active(session, username, False, by=by)
    return f"{username} is deactivated and signed out; reactivate to let them in again."


def reactivate(session, by: str, username) -> str:
    set_active(session, username, True, by=by)
    return f"{username} may sign in again."


def reset_password(session, by: str, username, password) -> str:
    set_password(session, username, password or "", by=by)
    return f"{username}'s password is changed and their open sessions have ended."


def _networks(role, networks) -> list[str]:
    return list(networks or []) if role == "coordinator" else []


def act(
    _create,
    _save,
    _deactivate,
    _reactivate,
    _reset,
    new_username,
    new_role,
    new_networks,
    new_password,
    user,
    role,
    networks,
    password,
    changed,
):
    """Run the button's change; show its outcome; clear the passwords when it is done."""
    scope = require_role("admin")
    trigger = ctx.triggered_id
    if trigger not in ACTION_BUTTONS:
        return (no_update,) * 5
    if trigger != "admin-create" and not user:
        return alert("Choose a user first (in the list or by clicking a row).", "warning"), *(
            no_update,
        ) * 4
    try:
        with session_scope(_engine()) as session:
            if trigger == "admin-create":
                message = create(
                    session, scope.username, new_username, new_role, new_networks, new_password
                )
            elif trigger == "admin-save":
                message = save(session, scope.username, user, role, networks)
            elif trigger == "admin-deactivate":
                message = deactivate(session, scope.username, user)
            elif trigger == "admin-reactivate":
                message = reactivate(session, scope.username, user)
            else:
                message = reset_password(session, scope.username, user, password)
    except UserError as exc:
        text = str(exc)
        return alert(text[:1].upper() + text[1:] + ".", "danger"), *(no_update,) * 4
    cleared = "" if trigger == "admin-create" else no_update
    return (
        alert(message, "success"),
        (changed or 0) + 1,
        cleared,
        cleared,
        "" if trigger == "admin-reset-password" else no_update,
    )


def load_networks(_changed):
    """The networks, as a sentence and as the rename form's choices."""
    require_role("admin")
    with session_scope(_engine()) as session:
        names = network_list(session)
    text = f"{len(names)} network(s): {', '.join(names)}." if names else "No networks yet."
    return text, names


def add_network(session, by: str, name) -> str:
    network, created = create_network(session, name or "", by=by)
    if not created:
        return f"The network {network.name} exists already: nothing changed."
    return f"Added the network {network.name}."


def rename(session, by: str, old, new) -> str:
    if not rename_network(session, old, new or "", by=by):
        return f"{old} already has this name: nothing changed."
    return f"Renamed {old} to {' '.join(new.split())}; its groups and data stay with it."


def network_act(_add, _rename, name, old, new, changed):
    """Add or rename a network; show the outcome; re-read every choice of networks."""
    scope = require_role("admin")
    trigger = ctx.triggered_id
    if trigger not in ("admin-network-add", "admin-network-rename"):
        return (no_update,) * 4
    if trigger == "admin-network-rename" and not old:
        return network_alert("Choose the network to rename first.", "warning"), *(no_update,) * 3
    try:
        with session_scope(_engine()) as session:
            if trigger == "admin-network-add":
                message = add_network(session, scope.username, name)
            else:
                message = rename(session, scope.username, old, new)
    except NetworkError as exc:
        text = str(exc)
        return network_alert(text[:1].upper() + text[1:] + ".", "danger"), *(no_update,) * 3
    current_service().forget()  # option lists are cached by data version: read it again
    return (
        network_alert(message, "success"),
        (changed or 0) + 1,
        "" if trigger == "admin-network-add" else no_update,
        "" if trigger == "admin-network-rename" else no_update,
    )


def export(n_clicks, file_name: str) -> bool:
    """The grid downloads itself as CSV; the download is audited."""
    scope = require_role("admin")
    if not n_clicks:
        return no_update
    with session_scope(_engine()) as session:
        audit.record(session, "export", scope.username, file_name)
    return True


def export_users(n_clicks):
    return export(n_clicks, "users.csv")


def export_audit(n_clicks):
    return export(n_clicks, "audit-log.csv")


def register(app) -> None:
    app.callback(
        Output("admin-users", "rowData"),
        Output("admin-edit-user", "options"),
        Output("admin-new-networks", "options"),
        Output("admin-edit-networks", "options"),
        Input("admin-changed", "data"),
    )(load_users)
    app.callback(
        Output("admin-audit", "rowData"),
        Output("admin-audit-action", "options"),
        Output("admin-audit-note", "children"),
        Input("admin-audit-action", "value"),
        Input("admin-changed", "data"),
    )(load_audit)
    app.callback(
        Output("admin-edit-user", "value"),
        Input("admin-users", "selectedRows"),
        prevent_initial_call=True,
    )(pick_row)
    app.callback(
        Output("admin-edit-role", "value"),
        Output("admin-edit-networks", "value"),
        Output("admin-edit-status", "children"),
        Output("admin-save", "disabled"),
        Output("admin-deactivate", "disabled"),
        Output("admin-reactivate", "disabled"),
        Output("admin-reset-password", "disabled"),
        Input("admin-edit-user", "value"),
        Input("admin-changed", "data"),
    )(show_user)
    app.callback(
        Output("admin-new-networks", "disabled"),
        Output("admin-edit-networks", "disabled"),
        Input("admin-new-role", "value"),
        Input("admin-edit-role", "value"),
    )(networks_enabled)
    app.callback(
        Output("admin-message", "children"),
        Output("admin-changed", "data"),
        Output("admin-new-username", "value"),
        Output("admin-new-password", "value"),
        Output("admin-edit-password", "value"),
        *(Input(button, "n_clicks") for button in ACTION_BUTTONS),
        State("admin-new-username", "value"),
        State("admin-new-role", "value"),
        State("admin-new-networks", "value"),
        State("admin-new-password", "value"),
        State("admin-edit-user", "value"),
        State("admin-edit-role", "value"),
        State("admin-edit-networks", "value"),
        State("admin-edit-password", "value"),
        State("admin-changed", "data"),
        prevent_initial_call=True,
    )(act)
    app.callback(
        Output("admin-networks-list", "children"),
        Output("admin-network-old", "options"),
        Input("admin-changed", "data"),
    )(load_networks)
    app.callback(
        Output("admin-network-message", "children"),
        Output("admin-changed", "data", allow_duplicate=True),
        Output("admin-network-name", "value"),
        Output("admin-network-new", "value"),
        Input("admin-network-add", "n_clicks"),
        Input("admin-network-rename", "n_clicks"),
        State("admin-network-name", "value"),
        State("admin-network-old", "value"),
        State("admin-network-new", "value"),
        State("admin-changed", "data"),
        prevent_initial_call=True,
    )(network_act)
    app.callback(
        Output("admin-users", "exportDataAsCsv"),
        Input("admin-users-csv", "n_clicks"),
        prevent_initial_call=True,
    )(export_users)
    app.callback(
        Output("admin-audit", "exportDataAsCsv"),
        Input("admin-audit-csv", "n_clicks"),
        prevent_initial_call=True,
    )(export_audit)
