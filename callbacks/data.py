"""Data page callbacks: templates, check-then-import, history and undo, sessions by hand.

Every write goes through dashboard.importing (run_import / undo_import): a session entered by
hand is an attendance file built in memory, so checks, all-or-nothing, audit and undo are
the same as for a file. The uploaded bytes are never kept on the server or in a dcc.Store:
the confirm callback reads dcc.Upload's `contents` again, which the browser holds anyway.
"""

from __future__ import annotations

import base64
import binascii
import csv
import datetime as dt
import io

import dash_bootstrap_components as dbc
import flask
from dash import ALL, Input, Output, State, dcc, html, no_update

from callbacks.shell import today
from dashboard import entry
from dashboard.access import Scope
from dashboard.auth import current_scope
from dashboard.importing import (
    KINDS,
    ImportError_,
    ImportReport,
    escape_spreadsheet_cell,
    import_history,
    run_import,
    template,
    undo_import,
)
from dashboard.importing.report import TABLE_LABELS
from dashboard.importing.validate import COLUMNS
from dashboard.service import current_service
from dashboard.wording import plural
from layouts.data import KIND_TITLES, MARKS, preview_grid, problem_grid, upload_prompt

# The largest upload the page accepts. IMPORT_MAX_ROWS (50,000) rows of the widest kind
# (surveys, ~20 columns) is about 5 MB as CSV, so 10 MB leaves room without letting a
# mistaken upload (a video, a database dump) tie up a worker.
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
ENTRY_FILENAME = "entered-by-hand"
HISTORY_LIMIT = 100


class UploadError(ValueError):
    """The upload can't be read: the message says what to do."""


# ---------------------------------------------------------------- scope


def importer() -> Scope:
    """The signed-in user, refused (403) unless a coordinator or an admin."""
    scope = current_scope()
    if not scope.may_import:
        flask.abort(403)
    return scope


def allowed_networks(scope: Scope) -> set[str] | None:
    """Networks this user may import for: None = all (admin)."""
    networks = scope.writable_networks
    return None if networks is None else set(networks)


# ---------------------------------------------------------------- helpers


def decode_upload(contents: str | None) -> bytes:
    """dcc.Upload's 'data:...;base64,XXXX' -> the file's bytes (size checked first)."""
    header, sep, data = (contents or "").partition(",")
    if not sep or ";base64" not in header:
        raise UploadError("The file did not arrive whole: choose it again.")
    if len(data) * 3 // 4 > MAX_UPLOAD_BYTES:
        size = len(data) * 3 / 4 / 1024 / 1024
        raise UploadError(
            f"The file is {size:.0f} MB; the limit is {MAX_UPLOAD_BYTES // 1024 // 1024} MB. "
            "Split it into smaller files (by date, for example) and import each."
        )
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise UploadError("The file did not arrive whole: choose it again.") from None


def clean_filename(name: str | None) -> str:
    """The file's own name (no folders), as the history and the audit log show it."""
    text = str(name or "upload").replace("\\", "/").rsplit("/", 1)[-1].strip()
    return (text or "upload")[:200]


def option_flags(options) -> dict:
    chosen = set(options or [])
    return {
        "add_new_members": "add_new_members" in chosen,
        "enroll_missing": "enroll_missing" in chosen,
    }


def do_import(
    scope: Scope, kind: str, filename: str, content: bytes, *, dry_run: bool, **options
) -> ImportReport:
    """run_import with this user's name and networks and the app's size limits."""
    service = current_service()
    report = run_import(
        service.engine,
        kind,
        filename,
        content,
        username=scope.username,
        dry_run=dry_run,
        allowed_networks=allowed_networks(scope),
        max_rows=service.settings.import_max_rows,
        max_columns=service.settings.import_max_columns,
        **options,
    )
    if report.batch_id is not None:
        service.forget()
    return report


def check_upload(scope: Scope, contents, kind, options, filename) -> ImportReport:
    """A dry run of the uploaded file; an unreadable upload is the report's one error."""
    name = clean_filename(filename)
    try:
        content = decode_upload(contents)
    except UploadError as exc:
        report = ImportReport(kind=kind or "", filename=name, dry_run=True)
        report.error(None, None, None, str(exc), "choose the file again")
        return report
    return do_import(scope, kind, name, content, dry_run=True, **option_flags(options))


def problem_rows(report: ImportReport) -> list[dict]:
    """The report's problems as grid rows: severity in words, row, column, value, fix."""
    return [
        {
            "severity": "Error" if p.is_error else "Warning",
            "row": p.row,
            "column": p.column or "",
            "value": p.value if p.value is not None else "",
            "message": p.message,
            "fix": p.fix,
        }
        for p in report.problems
    ]


def changes_text(report: ImportReport) -> str:
    """'add 12 attendance record(s), 1 session(s); update 2 attendance record(s)'."""
    parts = []
    for verb, counts in (("add", report.added), ("update", report.updated)):
        items = [f"{n:,} {TABLE_LABELS.get(t, t)}" for t, n in counts.items() if n]
        if items:
            parts.append(f"{verb} {', '.join(items)}")
    return "; ".join(parts)


def check_view(report: ImportReport) -> list:
    """What a dry run found, for step 3."""
    errors, warnings = len(report.errors), len(report.warnings)
    title = KIND_TITLES.get(report.kind, report.kind)
    where = f"{title} file {report.filename!r}, {plural(report.rows, 'row')}"
    if not report.ok:
        alert = dbc.Alert(
            [
                html.Strong(f"{plural(errors, 'error')}"),
                f" in the {where}: nothing can be imported until they are fixed. Correct the "
                "file (each problem below names its row and column) and choose it again.",
            ],
            color="danger",
            id="data-check-summary",
        )
    elif not (report.rows_added or report.rows_updated):
        alert = dbc.Alert(
            f"No errors in the {where}; the database already has every row of it, so "
            "importing it changes nothing.",
            color="info",
            id="data-check-summary",
        )
    else:
        note = f" Read the {plural(warnings, 'warning')} below first." if warnings else ""
        alert = dbc.Alert(
            [
                html.Strong("No errors"),
                f" in the {where}. Importing it will {changes_text(report)}.{note}",
            ],
            color="warning" if warnings else "success",
            id="data-check-summary",
        )
    view = [alert]
    if report.problems:
        view.append(problem_grid("data-problems", problem_rows(report)))
    return view


def preview_view(report: ImportReport) -> list:
    if not report.preview:
        return []
    shown = len(report.preview)
    return [
        html.H4(
            f"The first {shown} of {plural(report.rows, 'row')}, as read"
            if shown < report.rows
            else "The rows, as read",
            className="h6 mt-3",
        ),
        preview_grid("data-preview-grid", report.preview),
    ]


def result_view(report: ImportReport) -> list:
    """What the real import did, for step 4."""
    if not report.ok:
        return [
            dbc.Alert(
                [
                    html.Strong("Nothing was imported. "),
                    f"The file has {plural(len(report.errors), 'error')} now (the data may "
                    "have changed since the check): fix them and choose the file again.",
                ],
                color="danger",
                id="data-result-summary",
            ),
            problem_grid("data-result-problems", problem_rows(report)),
        ]
    if report.batch_id is None:
        return [
            dbc.Alert(
                "Nothing changed: the database already had every row of this file.",
                color="info",
                id="data-result-summary",
            )
        ]
    return [
        dbc.Alert(
            [
                html.Strong(f"Imported as batch #{report.batch_id}: "),
                f"{changes_text(report)}. Every page now includes these rows. If this was "
                f"a mistake, undo batch #{report.batch_id} in the import history below.",
            ],
            color="success",
            id="data-result-summary",
        )
    ]


# ---------------------------------------------------------------- import a file


def kind_columns(kind):
    """The chosen kind's columns, required ones first named, optional ones in brackets."""
    importer()
    if kind not in KINDS:
        return ""
    names = [name if required else f"[{name}]" for name, required, _ in COLUMNS[kind]]
    if kind == "surveys":
        names.append("item_1 … item_n")
    return [
        html.Span("Columns: ", className="fw-semibold"),
        html.Code(", ".join(names)),
        html.Span(
            " ([optional]; headers match ignoring case and spaces; dates as YYYY-MM-DD)",
            className="text-muted",
        ),
    ]


def download_template(n_clicks, kind):
    """The chosen kind's CSV template: its header row and one example row."""
    importer()
    if not n_clicks or kind not in KINDS:
        return no_update
    return dcc.send_bytes(template(kind), f"{kind}-template.csv", type="text/csv")


def check_file(contents, kind, options, filename):
    """A dry run of the chosen file: problems, preview, and whether it may be imported.

    Outputs: check view, preview, confirm disabled, confirm label, report button style,
    the drop zone's text, the previous result (cleared).
    """
    scope = importer()
    idle = ("Import this file", {"display": "none"}, upload_prompt(None), "")
    if not contents:
        return (
            html.P(
                "Choose a file: it is checked at once, and nothing is written until you confirm.",
                className="small text-muted",
            ),
            [],
            True,
            *idle,
        )
    report = check_upload(scope, contents, kind, options, filename)
    ready = report.ok and bool(report.rows_added or report.rows_updated)
    label = f"Import {plural(report.rows, 'row')}" if ready else "Import this file"
    shown = {} if report.problems else {"display": "none"}
    prompt = upload_prompt(clean_filename(filename))
    return check_view(report), preview_view(report), not ready, label, shown, prompt, ""


def report_csv(n_clicks, contents, kind, options, filename):
    """The check's problems as a CSV (cells a spreadsheet would run are escaped)."""
    scope = importer()
    if not n_clicks or not contents:
        return no_update
    report = check_upload(scope, contents, kind, options, filename)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["severity", "row", "column", "value", "problem", "fix"])
    for row in problem_rows(report):
        writer.writerow([escape_spreadsheet_cell(v) for v in row.values()])
    stem = clean_filename(filename).rsplit(".", 1)[0]
    return dcc.send_string(out.getvalue(), f"{stem}-problems.csv", type="text/csv")


def confirm_import(n_clicks, contents, kind, options, filename):
    """Import the checked file for real (checked again: the import is all or nothing)."""
    scope = importer()
    if not n_clicks or not contents:
        return no_update, no_update
    name = clean_filename(filename)
    try:
        content = decode_upload(contents)
    except UploadError as exc:
        return dbc.Alert(str(exc), color="danger", id="data-result-summary"), True
    report = do_import(scope, kind, name, content, dry_run=False, **option_flags(options))
    return result_view(report), True


# ---------------------------------------------------------------- history and undo


def history_state(row: dict) -> str:
    if row["undone"]:
        return "undone"
    if row["can_undo"]:
        return "can be undone"
    return "in use by a later import"


def history_rows(_result, _undone, _entered):
    """The latest imports this user may see (his networks' for a coordinator)."""
    scope = importer()
    rows = import_history(
        current_service().engine, limit=HISTORY_LIMIT, allowed_networks=allowed_networks(scope)
    )
    return [
        {
            **row,
            "at": row["at"].replace("T", " ")[:16],
            "networks": ", ".join(row["networks"]),
            "state": history_state(row),
        }
        for row in rows
    ]


def pick_batch(selected):
    """Clicking a history row puts its batch number in the undo box."""
    importer()
    if not selected:
        return no_update
    return selected[0].get("id")


def ask_undo(n_clicks, batch_id):
    """Ask before undoing: a confirmation naming the batch."""
    importer()
    if not n_clicks:
        return no_update, no_update, no_update
    if not batch_id:
        return (
            False,
            no_update,
            dbc.Alert("Type a batch number, or click a row of the history.", color="warning"),
        )
    return (
        True,
        f"Undo import batch #{int(batch_id)}? What it added is removed and what it changed "
        "is restored. To get it back, import the file again.",
        "",
    )


def undo_batch(submitted, batch_id):
    """Undo the batch (refused with a reason when a later import uses its rows)."""
    scope = importer()
    if not submitted or not batch_id:
        return no_update
    service = current_service()
    try:
        undo_import(
            service.engine, int(batch_id), scope.username, allowed_networks=allowed_networks(scope)
        )
    except ImportError_ as exc:
        return dbc.Alert(str(exc), color="danger", id="data-undo-summary")
    service.forget()
    return dbc.Alert(
        f"Import batch #{int(batch_id)} is undone: every page now leaves out its rows.",
        color="success",
        id="data-undo-summary",
    )


# ---------------------------------------------------------------- a session by hand


def entry_groups(_pathname):
    """The groups this user may enter a session for (his networks'; all for an admin)."""
    scope = importer()
    groups = current_service().lookup(entry.entry_groups, scope.writable_networks)
    many = len({g["network"] for g in groups}) > 1
    return [
        {"label": f"{g['name']} ({g['network']})" if many else g["name"], "value": g["name"]}
        for g in groups
    ]


def _parse_day(value) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def roster_problem(roster: dict | None, scope: Scope, day: dt.date) -> str | None:
    """Why marks can't be entered for this group and day, or None."""
    if roster is None or not scope.may_write_network(roster["network"]):
        return "This group is not one of your network's groups."
    if day > today():
        return f"{day:%A %d %B %Y} is in the future: enter a session once it has been held."
    if day < roster["start"]:
        return f"The group started on {roster['start']:%d %B %Y}, after this date."
    if roster["end"] is not None and day > roster["end"]:
        return f"The group ended on {roster['end']:%d %B %Y}, before this date."
    if roster["session"] and roster["session"]["cancelled"]:
        return (
            "This session is marked cancelled. To record attendance, un-cancel it first "
            "with a sessions import."
        )
    if not roster["members"]:
        return (
            f"Nobody is enrolled in {roster['group']} on {day:%d %B %Y}: import the "
            "roster first (or enroll the men with a roster file)."
        )
    return None


def entry_roster(group, day_text, _saved):
    """The group's men on that day, each with present / excused / absent (default absent).

    Outputs: the roster, save disabled, the length box's placeholder.
    """
    scope = importer()
    day = _parse_day(day_text)
    if not group or day is None:
        return (html.P("Choose a group and a date.", className="small text-muted"), True, "usual")
    roster = current_service().lookup(
        entry.session_roster, group, day.isoformat(), scope.writable_networks
    )
    problem = roster_problem(roster, scope, day)
    if problem:
        return dbc.Alert(problem, color="warning", id="data-entry-problem"), True, "usual"
    session = roster["session"]
    if session is None:
        status = (
            f"No session of this group is recorded on {day:%A %d %B %Y}: saving "
            f"records one ({roster['minutes']} minutes unless you give a length)."
        )
    else:
        counts = {
            m: sum(1 for x in roster["members"] if x["status"] == m)
            for m in ("present", "excused", "absent")
        }
        status = (
            f"A session is recorded on {day:%A %d %B %Y} ({session['duration_minutes']} "
            f"minutes): {counts['present']} present, {counts['excused']} excused, "
            f"{counts['absent']} absent. Saving updates the marks."
        )
    rows = []
    for member in roster["members"]:
        code = member["code"]
        note = "" if member["enrolled"] else " (not enrolled on this date)"
        rows.append(
            html.Tr(
                [
                    html.Th(
                        [
                            html.Span(code, className="font-monospace"),
                            html.Span(note, className="small text-muted"),
                        ],
                        scope="row",
                    ),
                    html.Td(
                        html.Div(
                            dbc.RadioItems(
                                id={"type": "data-mark", "member": code},
                                options=MARKS,
                                value=member["status"] or "absent",
                                inline=True,
                            ),
                            role="radiogroup",
                            **{"aria-label": f"Attendance of {code}"},
                        )
                    ),
                ]
            )
        )
    table = dbc.Table(
        [html.Thead(html.Tr([html.Th("Member code"), html.Th("Attendance")])), html.Tbody(rows)],
        size="sm",
        hover=True,
        className="mb-2",
    )
    placeholder = str(session["duration_minutes"] if session else roster["minutes"])
    return (
        [
            html.P(status, className="small", id="data-entry-status"),
            html.P(
                f"{len(rows):,} {'man' if len(rows) == 1 else 'men'} on the roster.",
                className="small text-muted",
            ),
            table,
        ],
        False,
        placeholder,
    )


def everyone_present(n_clicks, ids):
    importer()
    if not n_clicks:
        return no_update
    return ["present"] * len(ids or [])


def attendance_csv(group: str, day: dt.date, marks: dict[str, str], minutes) -> bytes:
    """The marks as an attendance file (SPEC §5 columns), for run_import."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["date", "group", "member_code", "status", "duration_minutes"])
    length = "" if minutes in (None, "") else str(minutes)
    for code, status in marks.items():
        writer.writerow([day.isoformat(), group, code, status, length])
    return out.getvalue().encode("utf-8")


def save_entry(n_clicks, group, day_text, minutes, values, ids):
    """Save the marks as an attendance import (checked, all or nothing, undoable)."""
    scope = importer()
    if not n_clicks:
        return no_update
    day = _parse_day(day_text)
    if not group or day is None:
        return dbc.Alert("Choose a group and a date first.", color="warning")
    marks = {
        item["member"]: value or "absent"
        for item, value in zip(ids or [], values or [], strict=False)
    }
    if not marks:
        return dbc.Alert("Nobody is on the roster: there is nothing to save.", color="warning")
    content = attendance_csv(group, day, marks, minutes)
    report = do_import(scope, "attendance", ENTRY_FILENAME, content, dry_run=False)
    if not report.ok:
        return [
            dbc.Alert(
                [
                    html.Strong("Nothing was saved. "),
                    f"{plural(len(report.errors), 'problem')} to fix:",
                ],
                color="danger",
                id="data-entry-summary",
            ),
            problem_grid("data-entry-problems", problem_rows(report)),
        ]
    counts = {m: sum(1 for v in marks.values() if v == m) for m in ("present", "excused", "absent")}
    told = (
        f"{counts['present']} present, {counts['excused']} excused, {counts['absent']} "
        f"absent at {group} on {day:%d %B %Y}"
    )
    if report.batch_id is None:
        return dbc.Alert(
            f"Nothing to change: already recorded ({told}).", color="info", id="data-entry-summary"
        )
    return dbc.Alert(
        [html.Strong(f"Saved as batch #{report.batch_id}: "), f"{told}."],
        color="success",
        id="data-entry-summary",
    )


# ---------------------------------------------------------------- wiring


def register(app) -> None:
    upload = [
        State("data-upload", "contents"),
        State("data-kind", "value"),
        State("data-options", "value"),
        State("data-upload", "filename"),
    ]
    app.callback(Output("data-kind-columns", "children"), Input("data-kind", "value"))(kind_columns)
    app.callback(
        Output("data-template-download", "data"),
        Input("data-template-button", "n_clicks"),
        State("data-kind", "value"),
        prevent_initial_call=True,
    )(download_template)
    app.callback(
        Output("data-check", "children"),
        Output("data-preview", "children"),
        Output("data-confirm", "disabled"),
        Output("data-confirm", "children"),
        Output("data-report-button", "style"),
        Output("data-upload", "children"),
        Output("data-result", "children", allow_duplicate=True),
        Input("data-upload", "contents"),
        Input("data-kind", "value"),
        Input("data-options", "value"),
        State("data-upload", "filename"),
        prevent_initial_call=True,
    )(check_file)
    app.callback(
        Output("data-report-download", "data"),
        Input("data-report-button", "n_clicks"),
        *upload,
        prevent_initial_call=True,
    )(report_csv)
    app.callback(
        Output("data-result", "children"),
        Output("data-confirm", "disabled", allow_duplicate=True),
        Input("data-confirm", "n_clicks"),
        *upload,
        prevent_initial_call=True,
    )(confirm_import)
    app.callback(
        Output("data-history", "rowData"),
        Input("data-result", "children"),
        Input("data-undo-result", "children"),
        Input("data-entry-result", "children"),
    )(history_rows)
    app.callback(
        Output("data-undo-id", "value"),
        Input("data-history", "selectedRows"),
        prevent_initial_call=True,
    )(pick_batch)
    app.callback(
        Output("data-undo-confirm", "displayed"),
        Output("data-undo-confirm", "message"),
        Output("data-undo-result", "children", allow_duplicate=True),
        Input("data-undo-button", "n_clicks"),
        State("data-undo-id", "value"),
        prevent_initial_call=True,
    )(ask_undo)
    app.callback(
        Output("data-undo-result", "children"),
        Input("data-undo-confirm", "submit_n_clicks"),
        State("data-undo-id", "value"),
        prevent_initial_call=True,
    )(undo_batch)
    app.callback(Output("data-entry-group", "options"), Input("url", "pathname"))(entry_groups)
    app.callback(
        Output("data-entry-roster", "children"),
        Output("data-entry-save", "disabled"),
        Output("data-entry-minutes", "placeholder"),
        Input("data-entry-group", "value"),
        Input("data-entry-date", "date"),
        Input("data-entry-result", "children"),
    )(entry_roster)
    app.callback(
        Output({"type": "data-mark", "member": ALL}, "value"),
        Input("data-entry-all-present", "n_clicks"),
        State({"type": "data-mark", "member": ALL}, "id"),
        prevent_initial_call=True,
    )(everyone_present)
    app.callback(
        Output("data-entry-result", "children"),
        Input("data-entry-save", "n_clicks"),
        State("data-entry-group", "value"),
        State("data-entry-date", "date"),
        State("data-entry-minutes", "value"),
        State({"type": "data-mark", "member": ALL}, "value"),
        State({"type": "data-mark", "member": ALL}, "id"),
        prevent_initial_call=True,
    )(save_entry)
