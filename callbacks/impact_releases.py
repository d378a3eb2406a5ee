"""/impact's releases (SPEC §4): the note above a release a funder reads, and the Releases
section where leadership and admins prepare a draft, see it as the funder will, and publish it.

The server checks the role here as well as in dashboard/releases.py: only leadership and
admin users prepare, preview drafts and publish.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
import flask
from dash import Input, Output, State, ctx, html, no_update

from callbacks.shell import today
from dashboard import audit, queries, releases
from dashboard.auth import current_scope
from dashboard.db import session_scope
from dashboard.service import current_service
from dashboard.targets import fiscal_years, quarters

NO_RELEASE = "No release published yet"
REFUSED = "Only leadership and admin users prepare and publish releases."


def no_release() -> html.Div:
    return html.Div(
        html.P(
            "No impact summary has been published for you yet. Releases appear here once the "
            "network's leadership publishes them.",
            className="text-muted",
        ),
        className="py-4",
    )


def _when(value) -> str:
    return f"{value:%Y-%m-%d}" if value else ""


def difference_table(changes: list[dict], old: str, new: str) -> dbc.Table | html.P:
    """The figures that differ between two releases, one row each."""
    if not changes:
        return html.P("No figure changed.", className="small mb-0")
    header = html.Thead(
        html.Tr(
            [
                html.Th(name, scope="col")
                for name in ("Figure", "Section", "Network", "Period", old, new)
            ]
        )
    )
    rows = [
        html.Tr(
            [
                html.Th(c["figure"], scope="row"),
                html.Td(c["section"]),
                html.Td(c["column"]),
                html.Td(c["period"]),
                html.Td(c["old"]),
                html.Td(c["new"]),
            ]
        )
        for c in changes
    ]
    return dbc.Table(
        [header, html.Tbody(rows)], size="sm", bordered=False, className="mb-0 release-diff"
    )


def release_note(release: dict, successor: dict | None) -> html.Div:
    """What a reader of a release is told: which release, and whether it was corrected."""
    line = (
        f"Release #{release['id']} · {release['period']} · published "
        f"{_when(release['published_at'])}. These figures are fixed: they stay the same "
        "whatever data arrive later."
    )
    if successor is None:
        return html.P(line, className="small text-muted mb-2 release-note")
    changes = releases.difference(release["figures"], successor["figures"])
    return dbc.Alert(
        [
            html.P(
                f"This release was corrected: release #{successor['id']}, published "
                f"{_when(successor['published_at'])}, supersedes it. Both are kept; the "
                "figures that changed:",
                className="mb-2",
            ),
            difference_table(changes, f"#{release['id']}", f"#{successor['id']}"),
        ],
        color="warning",
        className="release-superseded",
    )


# --- Leadership and admins: prepare, preview, publish ---


def may_prepare() -> bool:
    """Leadership and admins only; anyone else asking is audited as refused."""
    scope = current_scope()
    if scope.role in releases.PREPARERS:
        return True
    with session_scope(current_service().engine) as session:
        audit.record(
            session,
            "refused",
            scope.username,
            "releases: prepare, preview or publish",
            flask.request.remote_addr if flask.has_request_context() else None,
        )
    return False


def period_options() -> list[dict]:
    """Each fiscal year from the data's first, newest first, followed by its quarters."""
    first = current_service().lookup(queries.data_start) or today()
    options = []
    for year in reversed(fiscal_years(first, today())):
        options.append({"label": year, "value": year})
        options += [{"label": f"{q[:9]} {q[10:]}", "value": q} for q in quarters(year)]
    return options


def release_options() -> list[dict]:
    found = releases.list_releases(current_service().engine, current_scope())
    return [{"label": releases.describe(r), "value": r["id"]} for r in found]


def manage_releases(_ready, _prepare, _publish, period, program_types, picked):
    """Prepare a draft (then pick it to preview) or publish the picked draft."""
    if not may_prepare():
        return [], [], None, REFUSED
    engine = current_service().engine
    scope = current_scope()
    trigger = ctx.triggered_id
    status, chosen = "", no_update
    try:
        if trigger == "impact-rel-prepare":
            if not period:
                status = "Choose a fiscal year or quarter first."
            else:
                draft = releases.prepare(
                    engine, period, program_types or (), scope, current_service().settings
                )
                chosen = draft["id"]
                status = (
                    f"Draft #{draft['id']} prepared: below exactly as funders will see it. "
                    "Publish it when it is right."
                )
        elif trigger == "impact-rel-publish":
            if picked is None:
                status = "Choose a draft to publish."
            else:
                done = releases.publish(engine, int(picked), scope)
                status = f"Release #{done['id']} published: funders see it now."
                if done["supersedes_id"]:
                    status += f" It supersedes #{done['supersedes_id']} (kept)."
    except (releases.ReleaseError, releases.ReleaseRefused) as exc:
        status = str(exc)
    return period_options(), release_options(), chosen, status


def preview_release(picked, render_summary):
    """A release exactly as funders will see it (a draft: and what it would correct)."""
    if picked is None:
        return None
    if not may_prepare():
        return html.P(REFUSED)
    engine = current_service().engine
    scope = current_scope()
    try:
        release = releases.get(engine, int(picked), scope)
    except (releases.ReleaseError, ValueError):
        return html.P(f"No release #{picked}.")
    line, content = render_summary(release["figures"])
    if release["status"] == releases.DRAFT:
        before = releases.predecessor_of_draft(engine, release)
        banner = [
            html.P(
                f"Draft #{release['id']} prepared {release['prepared_at']:%Y-%m-%d %H:%M} by "
                f"{release['prepared_by']}: not yet seen by funders. Below exactly as they "
                "will see it.",
                className="mb-2",
            )
        ]
        if before is not None:
            changes = releases.difference(before["figures"], release["figures"])
            banner += [
                html.P(
                    f"Publishing it supersedes release #{before['id']}; the figures that change:",
                    className="mb-2",
                ),
                difference_table(changes, f"#{before['id']}", f"Draft #{release['id']}"),
            ]
        note = dbc.Alert(banner, color="info", className="release-draft")
    else:
        successor = None
        if release["superseded_by_id"]:
            successor = releases.get(engine, release["superseded_by_id"], scope)
        note = release_note(release, successor)
    return html.Div(
        [html.P(line, className="text-muted mb-1"), note, *content],
        className="release-preview border rounded p-3",
    )


def register(app, render_summary) -> None:
    app.callback(
        Output("impact-rel-period", "options"),
        Output("impact-rel-pick", "options"),
        Output("impact-rel-pick", "value"),
        Output("impact-rel-status", "children"),
        Input("impact-rel-ready", "data"),
        Input("impact-rel-prepare", "n_clicks"),
        Input("impact-rel-publish", "n_clicks"),
        State("impact-rel-period", "value"),
        State("impact-rel-programs", "value"),
        State("impact-rel-pick", "value"),
    )(manage_releases)

    def preview(picked):
        return preview_release(picked, render_summary)

    app.callback(Output("impact-rel-preview", "children"), Input("impact-rel-pick", "value"))(
        preview
    )
