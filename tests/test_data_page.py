"""The /data page: templates, check then import, scope, history and undo, sessions by hand.

The demo database is shared by every test of a run: each test writes on its own Sunday (the
demo groups never meet on Sundays) and undoes its imports before it ends.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json

import flask
import pytest
from sqlalchemy import func, select
from werkzeug.exceptions import Forbidden

from callbacks import data as page
from dashboard import metrics
from dashboard.access import Scope
from dashboard.entry import entry_groups, session_roster
from dashboard.filters import Filters
from dashboard.importing import KINDS, ImportError_, undo_import
from dashboard.importing.validate import COLUMNS
from dashboard.models import ImportBatch
from tests.dash_calls import dash_call, run_callback

NO_RESULT = [
    ("data-result", "children", ""),
    ("data-undo-result", "children", ""),
    ("data-entry-result", "children", ""),
]


# ---------------------------------------------------------------- helpers


def engine_of(app):
    return app.server.extensions["dashboard"].engine


def texts(node) -> str:
    """Every string inside a callback's JSON output, joined (to search for words)."""
    if isinstance(node, str):
        return node
    if isinstance(node, dict):
        return " ".join(texts(v) for v in node.values())
    if isinstance(node, list):
        return " ".join(texts(v) for v in node)
    return "" if node is None else str(node)


def find(node, component_id):
    """The props of the component with this id inside a JSON component tree."""
    if isinstance(node, dict):
        props = node.get("props")
        if isinstance(props, dict) and props.get("id") == component_id:
            return props
        for value in node.values():
            found = find(value, component_id)
            if found is not None:
                return found
    elif isinstance(node, list):
        for value in node:
            found = find(value, component_id)
            if found is not None:
                return found
    return None


def upload(content: bytes) -> str:
    return "data:text/csv;base64," + base64.b64encode(content).decode()


def attendance_file(day: dt.date, group: str, marks: dict[str, str]) -> bytes:
    lines = ["date,group,member_code,status"]
    lines += [f"{day.isoformat()},{group},{code},{status}" for code, status in marks.items()]
    return ("\n".join(lines) + "\n").encode()


def free_group(app, network: str, day: dt.date, men: int = 3) -> dict:
    """A group of the network alive on `day`, without a session then, with >= men enrolled."""
    with engine_of(app).connect() as conn:
        for group in entry_groups(conn, (network,)):
            roster = session_roster(conn, group["name"], day.isoformat(), (network,))
            alive = roster["start"] <= day and (roster["end"] is None or roster["end"] >= day)
            enrolled = [m["code"] for m in roster["members"] if m["enrolled"]]
            if alive and roster["session"] is None and len(enrolled) >= men:
                return {**roster, "codes": enrolled[:men]}
    raise AssertionError(f"no {network} group free on {day}")


def figures(app, group: str, day: dt.date) -> dict:
    f = Filters(start=day, end=day, groups=(group,))
    with engine_of(app).connect() as conn:
        return metrics.outputs(conn, f)


def check(client, app, content: bytes, kind="attendance", options=(), name="marks.csv"):
    return run_callback(
        client,
        app,
        "data-check.children",
        [
            ("data-upload", "contents", upload(content)),
            ("data-kind", "value", kind),
            ("data-options", "value", list(options)),
        ],
        [("data-upload", "filename", name)],
    )


def confirm(client, app, content: bytes, kind="attendance", options=(), name="marks.csv"):
    return run_callback(
        client,
        app,
        "data-result.children",
        [("data-confirm", "n_clicks", 1)],
        [
            ("data-upload", "contents", upload(content)),
            ("data-kind", "value", kind),
            ("data-options", "value", list(options)),
            ("data-upload", "filename", name),
        ],
    )


def history(client, app) -> list[dict]:
    return run_callback(client, app, "data-history.rowData", NO_RESULT)["data-history"]["rowData"]


def batches(app) -> int:
    with engine_of(app).connect() as conn:
        return conn.scalar(select(func.count()).select_from(ImportBatch))


def undo_all_since(app, last_id: int) -> None:
    """Undo (newest first) every batch a test made, so the shared demo data stays as seeded."""
    with engine_of(app).connect() as conn:
        ids = conn.scalars(
            select(ImportBatch.id)
            .where(ImportBatch.id > last_id, ImportBatch.undone.is_(False))
            .order_by(ImportBatch.id.desc())
        ).all()
    for batch_id in ids:
        undo_import(engine_of(app), batch_id)


@pytest.fixture
def cleanup(demo_app):
    with engine_of(demo_app).connect() as conn:
        last = conn.scalar(select(func.max(ImportBatch.id))) or 0
    yield
    undo_all_since(demo_app, last)


# ---------------------------------------------------------------- pure helpers


def test_decode_upload_guards_size_and_encoding(monkeypatch):
    assert page.decode_upload(upload(b"a,b\n1,2\n")) == b"a,b\n1,2\n"
    monkeypatch.setattr(page, "MAX_UPLOAD_BYTES", 1000)
    with pytest.raises(page.UploadError, match="the limit is 0 MB"):
        page.decode_upload(upload(b"x" * 2000))
    for broken in (None, "", "no comma", "data:text/csv;base64,@@@"):
        with pytest.raises(page.UploadError, match="choose it again"):
            page.decode_upload(broken)


def test_attendance_csv_quotes_group_names():
    content = page.attendance_csv("Men, Dads & Sons", dt.date(2025, 6, 1), {"CGY-1": "present"}, 90)
    assert content.decode().splitlines() == [
        "date,group,member_code,status,duration_minutes",
        '2025-06-01,"Men, Dads & Sons",CGY-1,present,90',
    ]


# ---------------------------------------------------------------- roles


@pytest.mark.parametrize("role", ["funder", "leadership"])
def test_other_roles_are_refused_by_the_guard(client_for, role):
    client = client_for(role)
    calls = [
        ([("data-history", "rowData")], NO_RESULT, []),
        (
            [("data-template-download", "data")],
            [("data-template-button", "n_clicks", 1)],
            [("data-kind", "value", "roster")],
        ),
        ([("data-entry-group", "options")], [("url", "pathname", "/data")], []),
    ]
    for outputs, inputs, state in calls:
        assert dash_call(client, outputs, inputs, state).status_code == 403


def test_coordinator_passes_the_guard(client_for):
    client = client_for("coord-calgary")
    response = dash_call(client, [("data-history", "rowData")], NO_RESULT)
    assert response.status_code == 200


@pytest.mark.parametrize("role", ["funder", "leadership"])
def test_callbacks_refuse_other_roles_themselves(demo_app, role):
    """Defence in depth: even past the guard, each callback checks the role."""
    with demo_app.server.test_request_context():
        flask.g._login_user = type(
            "U", (), {"is_authenticated": True, "scope": Scope(role=role, username=role)}
        )()
        for call in (
            lambda: page.history_rows(None, None, None),
            lambda: page.check_file("data:text/csv;base64,", "groups", [], "x.csv"),
            lambda: page.confirm_import(1, "data:text/csv;base64,", "groups", [], "x"),
            lambda: page.download_template(1, "groups"),
            lambda: page.entry_groups("/data"),
            lambda: page.save_entry(1, "g", "2025-01-01", None, [], []),
            lambda: page.undo_batch(1, 1),
        ):
            with pytest.raises(Forbidden):
                call()


# ---------------------------------------------------------------- templates


@pytest.mark.parametrize("kind", KINDS)
def test_template_download_has_the_kinds_headers(client_for, demo_app, kind):
    client = client_for("coord-calgary")
    out = run_callback(
        client,
        demo_app,
        "data-template-download.data",
        [("data-template-button", "n_clicks", 1)],
        [("data-kind", "value", kind)],
    )
    sent = out["data-template-download"]["data"]
    assert sent["filename"] == f"{kind}-template.csv"
    text = base64.b64decode(sent["content"]).decode() if sent["base64"] else sent["content"]
    header = text.splitlines()[0].split(",")
    assert header[: len(COLUMNS[kind])] == [name for name, _, _ in COLUMNS[kind]]
    columns = run_callback(
        client, demo_app, "data-kind-columns.children", [("data-kind", "value", kind)]
    )
    assert COLUMNS[kind][0][0] in texts(columns)


# ---------------------------------------------------------------- check, import, undo


def test_good_file_checked_imported_shown_and_undone(client_for, demo_app, cleanup):
    day = dt.date(2025, 6, 8)
    target = free_group(demo_app, "Calgary", day)
    marks = dict(zip(target["codes"], ["present", "present", "excused"], strict=True))
    content = attendance_file(day, target["group"], marks)
    client = client_for("coord-calgary")
    before = batches(demo_app)

    out = check(client, demo_app, content)
    assert out["data-confirm"]["disabled"] is False
    assert out["data-confirm"]["children"] == "Import 3 rows"
    summary = texts(out["data-check"]["children"])
    assert "No errors" in summary and "add 1 session(s), 3 attendance record(s)" in summary
    grid = find(out["data-preview"]["children"], "data-preview-grid")
    assert [r["member_code"] for r in grid["rowData"]] == target["codes"]
    assert batches(demo_app) == before  # a check writes nothing
    assert figures(demo_app, target["group"], day)["sessions_held"] == 0

    result = confirm(client, demo_app, content)
    assert result["data-confirm"]["disabled"] is True
    text = texts(result["data-result"]["children"])
    assert "Imported as batch #" in text
    shown = figures(demo_app, target["group"], day)
    assert (shown["sessions_held"], shown["attendance"], shown["excused"]) == (1, 2, 1)

    rows = history(client, demo_app)
    mine = rows[0]
    assert (mine["kind"], mine["username"], mine["filename"], mine["rows_added"]) == (
        "attendance",
        "coord-calgary",
        "marks.csv",
        4,
    )
    assert mine["networks"] == "Calgary" and mine["state"] == "can be undone"
    assert f"#{mine['id']}" in text
    assert mine["id"] not in [r["id"] for r in history(client_for("coord-edmonton"), demo_app)]
    assert mine["id"] in [r["id"] for r in history(client_for("admin"), demo_app)]

    # The same file again changes nothing and the button stays off.
    again = check(client, demo_app, content)
    assert again["data-confirm"]["disabled"] is True
    assert "changes nothing" in texts(again["data-check"]["children"])

    picked = run_callback(
        client, demo_app, "data-undo-id.value", [("data-history", "selectedRows", [mine])]
    )
    assert picked["data-undo-id"]["value"] == mine["id"]
    asked = run_callback(
        client,
        demo_app,
        "data-undo-confirm.displayed",
        [("data-undo-button", "n_clicks", 1)],
        [("data-undo-id", "value", mine["id"])],
    )
    assert asked["data-undo-confirm"]["displayed"] is True
    assert f"#{mine['id']}" in asked["data-undo-confirm"]["message"]
    undone = run_callback(
        client,
        demo_app,
        "data-undo-result.children",
        [("data-undo-confirm", "submit_n_clicks", 1)],
        [("data-undo-id", "value", mine["id"])],
    )
    assert "is undone" in texts(undone)
    assert figures(demo_app, target["group"], day)["sessions_held"] == 0
    assert history(client, demo_app)[0]["state"] == "undone"
    again = run_callback(
        client,
        demo_app,
        "data-undo-result.children",
        [("data-undo-confirm", "submit_n_clicks", 2)],
        [("data-undo-id", "value", mine["id"])],
    )
    assert "already undone" in texts(again)


def test_bad_file_shows_row_and_column_and_cannot_be_imported(client_for, demo_app, cleanup):
    day = dt.date(2025, 6, 15)
    target = free_group(demo_app, "Calgary", day)
    a, b, c = target["codes"]
    content = attendance_file(day, target["group"], {a: "present", b: "maybe", c: "present"})
    client = client_for("coord-calgary")
    out = check(client, demo_app, content, name="bad.csv")
    assert out["data-confirm"]["disabled"] is True
    assert "1 error" in texts(out["data-check"]["children"])
    problems = find(out["data-check"]["children"], "data-problems")["rowData"]
    assert [(p["severity"], p["row"], p["column"], p["value"]) for p in problems] == [
        ("Error", 3, "status", "maybe")
    ]
    assert problems[0]["fix"]
    assert out["data-report-button"]["style"] == {}

    report = run_callback(
        client,
        demo_app,
        "data-report-download.data",
        [("data-report-button", "n_clicks", 1)],
        [
            ("data-upload", "contents", upload(content)),
            ("data-kind", "value", "attendance"),
            ("data-options", "value", []),
            ("data-upload", "filename", "bad.csv"),
        ],
    )
    sent = report["data-report-download"]["data"]
    assert sent["filename"] == "bad-problems.csv"
    assert sent["content"].splitlines()[1].startswith("Error,3,status,maybe,")

    # A confirm forced past the disabled button is refused by the importer.
    before = batches(demo_app)
    result = confirm(client, demo_app, content, name="bad.csv")
    assert "Nothing was imported" in texts(result["data-result"]["children"])
    assert batches(demo_app) == before
    assert figures(demo_app, target["group"], day)["sessions_held"] == 0


def test_formula_cells_are_escaped_in_the_report_download(client_for, demo_app):
    content = b'date,group,member_code,status\n2025-06-15,=HYPERLINK("x"),CGY-1,present\n'
    client = client_for("coord-calgary")
    report = run_callback(
        client,
        demo_app,
        "data-report-download.data",
        [("data-report-button", "n_clicks", 1)],
        [
            ("data-upload", "contents", upload(content)),
            ("data-kind", "value", "attendance"),
            ("data-options", "value", []),
            ("data-upload", "filename", "f.csv"),
        ],
    )
    body = report["data-report-download"]["data"]["content"]
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[1][:4] == ["Error", "2", "group", '\'=HYPERLINK("x")']
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row)


def test_calgary_coordinator_cannot_import_for_edmonton(client_for, demo_app, cleanup):
    day = dt.date(2025, 6, 22)
    target = free_group(demo_app, "Edmonton", day, men=1)
    content = attendance_file(day, target["group"], {target["codes"][0]: "present"})
    client = client_for("coord-calgary")
    out = check(client, demo_app, content)
    assert out["data-confirm"]["disabled"] is True
    problems = find(out["data-check"]["children"], "data-problems")["rowData"]
    assert problems[0]["column"] == "group"
    assert "you can import only for Calgary" in problems[0]["message"]
    before = batches(demo_app)
    assert "Nothing was imported" in texts(confirm(client, demo_app, content))
    assert batches(demo_app) == before
    # An admin may; the Calgary coordinator may not undo that Edmonton import.
    admin = client_for("admin")
    assert check(admin, demo_app, content)["data-confirm"]["disabled"] is False
    assert "Imported as batch" in texts(confirm(admin, demo_app, content))
    batch = history(admin, demo_app)[0]["id"]
    refused = run_callback(
        client,
        demo_app,
        "data-undo-result.children",
        [("data-undo-confirm", "submit_n_clicks", 1)],
        [("data-undo-id", "value", batch)],
    )
    assert "you can undo only imports for Calgary" in texts(refused)


def test_unreadable_upload_is_reported(client_for, demo_app):
    client = client_for("coord-calgary")
    out = run_callback(
        client,
        demo_app,
        "data-check.children",
        [
            ("data-upload", "contents", "data:text/csv;base64,@@"),
            ("data-kind", "value", "attendance"),
            ("data-options", "value", []),
        ],
        [("data-upload", "filename", "x.csv")],
    )
    assert out["data-confirm"]["disabled"] is True
    assert "choose it again" in texts(out["data-check"]["children"])
    empty = check(client, demo_app, b"")
    assert "The file is empty" in texts(empty["data-check"]["children"])


# ---------------------------------------------------------------- a session by hand


def save_body(group: str, day: dt.date, minutes, marks: dict[str, str]) -> dict:
    """The request the browser sends for Save (pattern-matching state as lists)."""
    ids = [{"member": code, "type": "data-mark"} for code in marks]
    return {
        "output": "data-entry-result.children",
        "outputs": {"id": "data-entry-result", "property": "children"},
        "inputs": [{"id": "data-entry-save", "property": "n_clicks", "value": 1}],
        "state": [
            {"id": "data-entry-group", "property": "value", "value": group},
            {"id": "data-entry-date", "property": "date", "value": day.isoformat()},
            {"id": "data-entry-minutes", "property": "value", "value": minutes},
            [
                {"id": i, "property": "value", "value": v}
                for i, v in zip(ids, marks.values(), strict=True)
            ],
            [{"id": i, "property": "id", "value": i} for i in ids],
        ],
        "changedPropIds": ["data-entry-save.n_clicks"],
    }


def save(client, group, day, minutes, marks) -> str:
    response = client.post("/_dash-update-component", json=save_body(group, day, minutes, marks))
    assert response.status_code == 200, response.data[:300]
    return texts(response.get_json()["response"])


def roster(client, app, group, day) -> dict:
    return run_callback(
        client,
        app,
        "data-entry-roster.children",
        [
            ("data-entry-group", "value", group),
            ("data-entry-date", "date", day.isoformat()),
            ("data-entry-result", "children", None),
        ],
    )


def test_group_choices_follow_the_scope(client_for, demo_app):
    def names(role):
        out = run_callback(
            client_for(role), demo_app, "data-entry-group.options", [("url", "pathname", "/data")]
        )
        return [o["value"] for o in out["data-entry-group"]["options"]]

    calgary, everyone = names("coord-calgary"), names("admin")
    assert calgary and all("Calgary" in n for n in calgary)
    assert set(calgary) < set(everyone) and any("Edmonton" in n for n in everyone)


def test_session_entered_by_hand_is_recorded_and_shown(client_for, demo_app, cleanup):
    day = dt.date(2025, 6, 29)
    target = free_group(demo_app, "Calgary", day, men=3)
    group = target["group"]
    client = client_for("coord-calgary")
    shown = roster(client, demo_app, group, day)
    assert shown["data-entry-save"]["disabled"] is False
    everyone = [m["code"] for m in target["members"]]
    for code in everyone:
        props = find(shown["data-entry-roster"]["children"], {"type": "data-mark", "member": code})
        assert props["value"] == "absent"
    assert "saving records one" in texts(shown)

    marks = dict.fromkeys(everyone, "absent")
    marks[everyone[0]] = marks[everyone[1]] = "present"
    marks[everyone[2]] = "excused"
    said = save(client, group, day, 90, marks)
    assert "Saved as batch #" in said and "2 present, 1 excused" in said
    got = figures(demo_app, group, day)
    assert (got["sessions_held"], got["attendance"], got["excused"]) == (1, 2, 1)
    assert got["attendance_hours"] == 3.0  # two men, 90 minutes each
    row = history(client, demo_app)[0]
    assert (row["filename"], row["kind"], row["username"]) == (
        "entered-by-hand",
        "attendance",
        "coord-calgary",
    )

    again = roster(client, demo_app, group, day)
    assert "A session is recorded" in texts(again) and "Saving updates the marks" in texts(again)
    props = find(
        again["data-entry-roster"]["children"], {"type": "data-mark", "member": everyone[0]}
    )
    assert props["value"] == "present"
    assert "Nothing to change" in save(client, group, day, 90, marks)

    # A correction updates the marks; undo restores them.
    marks[everyone[2]] = "present"
    assert "Saved as batch" in save(client, group, day, "", marks)
    assert figures(demo_app, group, day)["attendance"] == 3
    undo_import(engine_of(demo_app), history(client, demo_app)[0]["id"])
    assert figures(demo_app, group, day)["attendance"] == 2


def test_session_by_hand_refusals(client_for, demo_app, cleanup):
    day = dt.date(2025, 7, 6)
    client = client_for("coord-calgary")
    before_batches = batches(demo_app)
    edmonton = free_group(demo_app, "Edmonton", day, men=1)
    shown = roster(client, demo_app, edmonton["group"], day)
    assert shown["data-entry-save"]["disabled"] is True
    assert "not one of your network's groups" in texts(shown)
    # Forced past the page: the importer refuses the other network's group.
    said = save(client, edmonton["group"], day, None, {edmonton["codes"][0]: "present"})
    assert "Nothing was saved" in said and "only for Calgary" in said
    calgary = free_group(demo_app, "Calgary", day, men=1)
    future = dt.date.today() + dt.timedelta(days=7)
    assert "in the future" in texts(roster(client, demo_app, calgary["group"], future))
    before = calgary["start"] - dt.timedelta(days=1)
    assert "started on" in texts(roster(client, demo_app, calgary["group"], before))
    assert batches(demo_app) == before_batches


def test_undo_error_names_the_reason(demo_app, client_for):
    out = run_callback(
        client_for("admin"),
        demo_app,
        "data-undo-result.children",
        [("data-undo-confirm", "submit_n_clicks", 1)],
        [("data-undo-id", "value", 999999)],
    )
    assert "There is no import batch 999999" in texts(out)
    with pytest.raises(ImportError_):
        undo_import(engine_of(demo_app), 999999)
    asked = run_callback(
        client_for("admin"),
        demo_app,
        "data-undo-confirm.displayed",
        [("data-undo-button", "n_clicks", 1)],
        [("data-undo-id", "value", None)],
    )
    assert asked["data-undo-confirm"]["displayed"] is False
    assert "Type a batch number" in texts(asked)


def test_layout_ids_belong_to_the_page(client_for, demo_app):
    from layouts.data import layout

    tree = json.dumps(
        layout(Scope(role="coordinator", networks=("Calgary",))).to_plotly_json(),
        default=lambda o: o.to_plotly_json(),
    )
    ids = [part.split('"')[0] for part in tree.split('"id": "')[1:]]
    assert ids and all(i.startswith("data-") for i in ids), ids
    assert "You can import for Calgary" in tree


def test_a_coordinator_without_networks_reaches_none():
    lost = Scope(role="coordinator", networks=None, username="x")
    assert page.allowed_networks(lost) == set()
    assert page.allowed_networks(Scope(role="admin")) is None
    assert page.allowed_networks(Scope(role="coordinator", networks=("Calgary",))) == {"Calgary"}
