"""The impact summary's one data structure, its CSV/XLSX/PDF, and `python -m dashboard report`."""

from __future__ import annotations

import datetime as dt
import io
import re

import pandas as pd
import pytest
from pypdf import PdfReader

from dashboard import metrics, report
from dashboard.access import FULL_SCOPE, Scope
from dashboard.cli import main
from dashboard.db import get_engine
from dashboard.filters import Filters
from dashboard.settings import Settings
from tests.factories import Builder

FY = Filters(start=dt.date(2025, 4, 1), end=dt.date(2026, 3, 31))
FUNDER = Scope(role="funder", username="f")
MEMBER_CODE = re.compile(r"[A-Z]{3}-\d{6}")


@pytest.fixture
def settings(database_url):
    return Settings(database_url=database_url, secret_key="x", demo_mode=False)


@pytest.fixture
def no_noise(monkeypatch):
    """The cell-key adjustment off (every protected count equals its exact count), for tests
    of what is hidden and how it reads; test_funder_counts_carry_the_cell_key_noise checks
    the noise itself."""
    from dashboard import cellkey

    monkeypatch.setattr(cellkey, "adjustment", lambda count, key, threshold: 0)


@pytest.fixture
def small(session):
    """Calgary: 8 men this fiscal year (6 with well-being pairs), 6 the year before.
    Edmonton: 3 men this year, none before: a small cell."""
    b = Builder(session)
    b.network("Calgary")
    b.network("Edmonton")
    b.group("Calgary Peer", "Calgary", minutes=90)
    b.group("Edmonton Peer", "Edmonton")
    cgy = [f"CGY-{i:06d}" for i in range(1, 9)]
    edm = [f"EDM-{i:06d}" for i in range(1, 4)]
    for code in cgy:
        b.member(code, "Calgary")
    for code in edm:
        b.member(code, "Edmonton")
    b.session("Calgary Peer", "2024-05-06", {c: "present" for c in cgy[:6]})
    b.session("Calgary Peer", "2025-05-05", {c: "present" for c in cgy})
    b.session("Calgary Peer", "2025-05-12", {c: "present" for c in cgy[:4]} | {cgy[4]: "absent"})
    b.session("Calgary Peer", "2025-05-19", cancelled=True)
    b.session("Edmonton Peer", "2025-05-06", {c: "present" for c in edm})
    for i, code in enumerate(cgy[:6]):
        b.survey(code, "swemwbs", "2025-03-01", "baseline", [2, 3, 2, 3, 2, 3, 2 + i % 2])
        b.survey(code, "swemwbs", "2025-09-01", "exit", [4, 4, 3, 4, 4, 3 + i % 3, 4])
    b.done()


def test_funder_sees_the_small_network_and_its_complement_hidden(small, engine, settings, no_noise):
    figures = report.impact_figures(engine, FUNDER, FY, settings)
    assert figures["columns"] == ["Calgary", "Edmonton", "Combined"]
    outputs = report.section(figures, "outputs")
    now, notes = outputs["current"], outputs["notes"]["current"]
    assert now["Edmonton"]["men_reached"] is None
    assert notes["Edmonton"]["men_reached"] == "fewer than 5 men"
    # Calgary's 8 would give Edmonton's count away from the combined 11: hidden too.
    assert now["Calgary"]["men_reached"] is None
    assert notes["Calgary"]["men_reached"] == "to protect a small figure beside it"
    assert now["Combined"]["men_reached"] == 11
    assert now["Edmonton"]["attendance_hours"] is None  # rests on the hidden count
    assert [now[c]["sessions_held"] for c in figures["columns"]] == [2, 1, 3]  # not men
    assert report.cell(figures, "outputs", "Edmonton", "men_reached") == ("<5", "fewer than 5 men")
    assert report.cell(figures, "outputs", "Calgary", "men_reached")[0] == "—"
    # Last year: Calgary's 6 men alone, nothing in Edmonton (0 is below 5 too).
    before = outputs["previous"]
    assert before["Edmonton"]["men_reached"] is None and before["Combined"]["men_reached"] == 6
    wellbeing = report.section(figures, "swemwbs")
    assert wellbeing["current"]["Combined"]["matched_pairs"] == 6
    assert wellbeing["current"]["Edmonton"]["mean_change"] is None
    # 6 pairs are enough to show that there are 6, not to show what changed (SURVEY_MIN_PAIRS).
    assert wellbeing["current"]["Combined"]["mean_change"] is None
    assert wellbeing["notes"]["current"]["Combined"]["mean_change"] == "fewer than 10 pairs"
    assert report.cell(figures, "swemwbs", "Combined", "mean_change")[0] == "—"


def test_funder_counts_carry_the_cell_key_noise(small, engine, session, settings):
    """A funder's count of men is the gate's protected count: the exact count plus the
    adjustment of its men's cell key (dashboard/cellkey.py), the same every time."""
    from sqlalchemy import select

    from dashboard import cellkey
    from dashboard.models import Member

    figures = report.impact_figures(engine, FUNDER, FY, settings)
    keys = session.scalars(select(Member.record_key)).all()  # the 11 men of the year
    expected = cellkey.perturb(11, cellkey.cell_key(sum(keys)), 5)
    combined = report.section(figures, "outputs")["current"]["Combined"]
    assert combined["men_reached"] == expected and abs(expected - 11) <= 2
    again = report.impact_figures(engine, FUNDER, FY, settings)
    assert report.section(again, "outputs")["current"]["Combined"] == combined
    exact = report.impact_figures(engine, FULL_SCOPE, FY, settings)
    assert report.section(exact, "outputs")["current"]["Combined"]["men_reached"] == 11
    # The cell keys stay on the server.
    for part in [*figures["sections"], *exact["sections"]]:
        for period in ("current", "previous"):
            for record in part[period].values():
                assert not [k for k in record if k.endswith(cellkey.KEY_SUFFIX)], part["id"]
    assert cellkey.KEY_SUFFIX not in report.to_csv(figures).decode("utf-8-sig")


def test_admin_sees_exact_figures_equal_to_metrics(small, engine, settings):
    figures = report.impact_figures(engine, FULL_SCOPE, FY, settings)
    outputs = report.section(figures, "outputs")["current"]
    with engine.connect() as conn:
        for column, networks in (
            ("Calgary", ("Calgary",)),
            ("Edmonton", ("Edmonton",)),
            ("Combined", ()),
        ):
            expected = metrics.outputs(conn, Filters(start=FY.start, end=FY.end, networks=networks))
            for key in ("sessions_held", "men_reached", "new_members", "attendance_hours"):
                assert outputs[column][key] == expected[key], (column, key)
    assert outputs["Calgary"]["attendance_hours"] == 12 * 1.5
    change = report.section(figures, "swemwbs")["current"]["Calgary"]
    assert change["matched_pairs"] == 6 and change["mean_change"] > 0
    assert report.section(figures, "outputs")["notes"]["current"]["Edmonton"] == {}


def test_one_network_has_no_combined_column(small, engine, settings):
    f = Filters(start=FY.start, end=FY.end, networks=("Edmonton",))
    figures = report.impact_figures(engine, FUNDER, f, settings)
    assert figures["columns"] == ["Edmonton"]
    assert report.cell(figures, "outputs", "Edmonton", "men_reached")[0] == "<5"


def test_coordinator_scope_limits_the_columns(small, engine, settings):
    coordinator = Scope(role="coordinator", networks=("Edmonton",), username="c")
    figures = report.impact_figures(engine, coordinator, FY, settings)
    assert figures["columns"] == ["Edmonton"]
    assert report.section(figures, "outputs")["current"]["Edmonton"]["men_reached"] == 3


@pytest.mark.parametrize(
    ("period", "label", "previous"),
    [
        ((dt.date(2025, 4, 1), dt.date(2026, 3, 31)), "FY2025-26", "FY2024-25"),
        ((dt.date(2025, 4, 1), dt.date(2025, 6, 30)), "FY2025-26-Q1", "FY2024-25-Q4"),
        (
            (dt.date(2025, 5, 1), dt.date(2025, 5, 31)),
            "1 May 2025 – 31 May 2025",
            "31 Mar 2025 – 30 Apr 2025",
        ),
    ],
)
def test_period_and_previous_labels(small, engine, settings, period, label, previous):
    figures = report.impact_figures(engine, FUNDER, Filters(*period), settings)
    assert figures["period"]["label"] == label
    assert figures["previous"]["label"] == previous


def test_csv_values_are_rounded_as_they_are_shown(small, engine, settings):
    """Admin's exact figures: a share in the file has the decimals the page shows (a whole
    percent: two places) and agrees with its text, not 0.6788888888888889."""
    figures = report.impact_figures(engine, FULL_SCOPE, FY, settings)
    csv = pd.read_csv(io.BytesIO(report.to_csv(figures)), encoding="utf-8-sig")
    by_label = {f["label"]: f["kind"] for p in figures["sections"] for f in p["figures"]}
    shares = csv[[by_label[f] == "share" for f in csv["figure"]]].dropna(subset=["value"])
    assert not shares.empty
    for value, text in zip(shares["value"], shares["shown"], strict=True):
        assert value == round(value, 2) and f"{value:.0%}" == text
    rates = csv[(csv["figure"] == "Completion rate") | (csv["figure"] == "Attendance rate")]
    assert all(len(str(v).split(".")[-1]) <= 2 for v in rates["value"].dropna())


def test_csv_and_xlsx_hold_the_same_suppressed_figures(small, engine, settings, no_noise):
    from openpyxl import load_workbook

    figures = report.impact_figures(engine, FUNDER, FY, settings)
    rows = report.figure_rows(figures)
    csv = pd.read_csv(
        io.BytesIO(report.to_csv(figures)), encoding="utf-8-sig", keep_default_na=False
    )
    assert list(csv.columns) == list(rows.columns)
    assert len(csv) == len(rows)
    assert list(csv["shown"]) == list(rows["shown"])
    men = csv[(csv["figure"] == "Men reached") & (csv["period"] == "FY2025-26")]
    assert list(men["shown"]) == ["—", "<5", "11"]
    assert list(men["value"]) == ["", "", "11"]
    assert men["note"].iloc[1] == "hidden: fewer than 5 men"
    book = load_workbook(io.BytesIO(report.to_xlsx(figures)))
    sheet = book["Figures"]
    header = [c.value for c in sheet[1]]
    assert header == list(rows.columns)
    xlsx = pd.DataFrame(list(sheet.iter_rows(min_row=2, values_only=True)), columns=header)
    assert list(xlsx["shown"]) == list(rows["shown"])
    assert list(xlsx["value"].fillna("")) == [("" if v is None else v) for v in rows["value"]]
    about = [r[0] for r in book["About"].iter_rows(values_only=True)]
    assert about[0] == "Impact summary" and any("fewer than 5 men" in a for a in about)
    assert not MEMBER_CODE.search(report.to_csv(figures).decode("utf-8-sig"))


def test_spreadsheet_cells_that_look_like_formulas_are_escaped(session, engine, settings):
    b = Builder(session)
    b.network("=HYPERLINK(1)")
    b.group("G", "=HYPERLINK(1)")
    for i in range(5):
        b.member(f"ABC-{i:06d}", "=HYPERLINK(1)")
    b.session("G", "2025-05-05", {f"ABC-{i:06d}": "present" for i in range(5)})
    b.done()
    figures = report.impact_figures(engine, FUNDER, FY, settings)
    text = report.to_csv(figures).decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in text and ",=HYPERLINK" not in text
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(report.to_xlsx(figures)))["Figures"]
    assert {c.value for c in sheet["F"][1:]} == {"'=HYPERLINK(1)"}


# --- The PDF ---


def pdf_text(content: bytes) -> tuple[PdfReader, str]:
    """The reader and the text of every page, whitespace (e.g. wrapped cells) made single."""
    reader = PdfReader(io.BytesIO(content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return reader, " ".join(text.split())


def test_cli_report_is_suppressed_by_default(
    small, database_url, tmp_path, capsys, monkeypatch, no_noise
):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SECRET_KEY", "x")
    out = tmp_path / "report.pdf"
    assert (
        main(["report", "impact", "--period", "FY2025-26", "--network", "all", "--out", str(out)])
        == 0
    )
    assert "suppressed" in capsys.readouterr().out
    reader, text = pdf_text(out.read_bytes())
    assert len(reader.pages) >= 2
    assert "Impact summary: FY2025-26" in text
    assert "<5" in text and "hidden: fewer than 5 men" in text
    assert not MEMBER_CODE.search(text)
    assert sum(len(page.images) for page in reader.pages) >= 3  # the charts, as images
    # The men reached row: Calgary complementary, Edmonton small, the combined 11 and last
    # year's 6; Edmonton's exact 3 appears nowhere in it.
    row = text.split(
        "Men reached Different men who attended at least one session in the period. ", 1
    )[1].split("New members", 1)[0]
    assert row == (
        "— hidden: to protect a small figure beside it <5 hidden: fewer than 5 men 11 6 +5 (+83%) "
    )

    exact = tmp_path / "exact.csv"
    assert (
        main(
            [
                "report",
                "impact",
                "--period",
                "FY2025-26",
                "--network",
                "Edmonton",
                "--out",
                str(exact),
                "--no-suppress",
            ]
        )
        == 0
    )
    assert "NOT suppressed" in capsys.readouterr().out
    frame = pd.read_csv(exact, encoding="utf-8-sig")
    men = frame[(frame["figure"] == "Men reached") & (frame["period"] == "FY2025-26")]
    assert list(men["value"]) == [3]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--period", "2025"], "error: not a period like FY2025-26 or FY2025-26-Q1: '2025'"),
        (
            ["--period", "FY2025-27"],
            "error: fiscal year 'FY2025-27' must span two consecutive years",
        ),
        (
            ["--period", "FY2025-26", "--network", "Red Deer"],
            "error: unknown network 'Red Deer'; use all or one of Calgary, Edmonton",
        ),
    ],
)
def test_cli_report_errors_are_one_line(
    small, database_url, tmp_path, capsys, monkeypatch, args, message
):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SECRET_KEY", "x")
    assert main(["report", "impact", *args, "--out", str(tmp_path / "r.pdf")]) == 1
    err = capsys.readouterr().err
    assert err == message + "\n"
    assert not (tmp_path / "r.pdf").exists()


@pytest.fixture(scope="module")
def demo_pdf(demo_url):
    """The funder's PDF of FY2025-26 on the demo data, charts drawn once for the module
    (without the cell-key noise, so that its counts can be checked against metrics)."""
    settings = Settings(database_url=demo_url, secret_key="x", demo_mode=False)
    engine = get_engine(demo_url)
    from dashboard import cellkey

    with pytest.MonkeyPatch.context() as patch:  # no cell-key noise: checked against metrics
        patch.setattr(cellkey, "adjustment", lambda count, key, threshold: 0)
        figures = report.impact_figures(engine, FUNDER, FY, settings)
    return engine, figures, report.write_pdf(figures)


def test_demo_pdf_opens_with_the_headline_figures(demo_pdf):
    engine, figures, content = demo_pdf
    reader, text = pdf_text(content)
    assert 3 <= len(reader.pages) <= 8
    assert reader.metadata.title == "Impact summary FY2025-26"
    with engine.connect() as conn:
        combined = metrics.outputs(conn, FY)
        calgary = metrics.outputs(conn, Filters(start=FY.start, end=FY.end, networks=("Calgary",)))
    for value in (
        combined["sessions_held"],
        combined["men_reached"],
        calgary["men_reached"],
        combined["new_members"],
    ):
        assert f"{value:,}" in text
    assert "Outputs: what the programs did" in text
    assert "Outcomes: what changed for the men" in text
    assert "Well-being (SWEMWBS)" in text and "Loneliness (UCLA-3)" in text
    assert "compared with FY2024-25" in text
    assert not MEMBER_CODE.search(text)
    assert sum(len(page.images) for page in reader.pages) == 3
    assert "could not be drawn" not in text


def test_demo_pdf_equals_the_figures_it_was_made_from(demo_pdf):
    _, figures, content = demo_pdf
    _, text = pdf_text(content)
    flat = text
    for section in figures["sections"]:
        for figure in section["figures"]:
            if figure["show"]:
                assert figure["label"] in flat
                value, _ = report.cell(figures, section["id"], "Combined", figure["key"])
                assert value in flat, (section["id"], figure["key"], value)


def test_demo_completion_shows_the_places_its_rate_is_over(demo_pdf):
    """On the demo data the men (the privacy base) and the places differ; the PDF shows the
    places beside the rate computed over them, as metrics.completion_figures gives them."""
    engine, figures, content = demo_pdf
    with engine.connect() as conn:
        expected = metrics.completion_figures(metrics.completion(conn, FY))
    combined = report.section(figures, "outputs")["current"]["Combined"]
    assert combined["completion_base"] == expected["completion_base"]
    assert combined["completion_enrolments"] == expected["completion_enrolments"]
    # The gate rounds a protected share to whole percent.
    assert combined["completion_rate"] == pytest.approx(expected["completion_rate"], abs=0.005)
    assert expected["completion_base"] < expected["completion_enrolments"]
    _, text = pdf_text(content)
    row = text.split("Places ended ", 1)[1].split("Completion rate", 1)[0]
    places = f"{expected['completion_enrolments']:,}"
    assert places in row.split(), row
    rate = report.cell(figures, "outputs", "Combined", "completion_rate")[0]
    assert rate == f"{expected['completion_rate']:.0%}"


# --- Completion: the rate, the places it is computed over, and their men (SPEC §3) ---


def mondays(first: str, n: int = 10) -> list[str]:
    start = dt.date.fromisoformat(first)
    return [(start + dt.timedelta(weeks=i)).isoformat() for i in range(n)]


@pytest.fixture
def completions(session):
    """10-session Men's Well-Being Groups ending in FY2025-26. Calgary: 6 men in 7 places (one
    man twice), 5 completed. Edmonton: 3 men in 6 places (each twice), all 6 completed."""
    b = Builder(session)
    for network, prefix, codes in (("Calgary", "CGY", 6), ("Edmonton", "EDM", 3)):
        b.network(network)
        for i in range(1, codes + 1):
            b.member(f"{prefix}-{i:06d}", network)
        for season in ("spring", "fall"):
            b.group(f"{network} WB {season}", network, program="wellbeing-10")
    cgy = [f"CGY-{i:06d}" for i in range(1, 7)]
    edm = [f"EDM-{i:06d}" for i in range(1, 4)]
    for code in cgy:
        b.enroll(code, "Calgary WB spring", "2025-04-01", "2025-06-15", "completed")
    b.enroll(cgy[0], "Calgary WB fall", "2025-09-01", "2025-11-15", "withdrawn")
    for spring, fall in zip(mondays("2025-04-07"), mondays("2025-09-01"), strict=True):
        b.session("Calgary WB spring", spring, {c: "present" for c in cgy[:5]} | {cgy[5]: "absent"})
        b.session("Calgary WB fall", fall, {cgy[0]: "absent"})
        b.session("Edmonton WB spring", spring, {c: "present" for c in edm})
        b.session("Edmonton WB fall", fall, {c: "present" for c in edm})
    for code in edm:
        b.enroll(code, "Edmonton WB spring", "2025-04-01", "2025-06-15", "completed")
        b.enroll(code, "Edmonton WB fall", "2025-09-01", "2025-11-15", "completed")
    b.done()


COMPLETION = ("completion_base", "completion_enrolments", "completion_rate")


def test_completion_is_metrics_completion_figures(completions, engine, settings):
    figures = report.impact_figures(engine, FULL_SCOPE, FY, settings)
    outputs = report.section(figures, "outputs")["current"]
    expected = {
        "Calgary": (6, 7, 5 / 7),
        "Edmonton": (3, 6, 1.0),
        "Combined": (9, 13, 11 / 13),
    }
    with engine.connect() as conn:
        for column, networks in (("Calgary", ("Calgary",)), ("Edmonton", ("Edmonton",))):
            f = Filters(start=FY.start, end=FY.end, networks=networks)
            one = metrics.completion_figures(metrics.completion(conn, f))
            assert tuple(one[k] for k in COMPLETION) == expected[column]
    for column, values in expected.items():
        assert tuple(outputs[column][k] for k in COMPLETION) == pytest.approx(values), column
    # The rate is shown beside the places it is computed over, after their men.
    keys = [f["key"] for f in report.section(figures, "outputs")["figures"]]
    assert keys[-3:] == list(COMPLETION)
    assert [report.cell(figures, "outputs", "Combined", k)[0] for k in COMPLETION] == [
        "9",
        "13",
        "85%",
    ]


def test_completion_is_protected_by_its_men_not_its_places(completions, engine, settings, no_noise):
    """Edmonton's 6 places belong to 3 men: the places and the rate are hidden with them."""
    figures = report.impact_figures(engine, FUNDER, FY, settings)
    texts = {
        column: [report.cell(figures, "outputs", column, k)[0] for k in COMPLETION]
        for column in figures["columns"]
    }
    assert texts == {
        "Calgary": ["—", "—", "—"],  # 6 men, hidden so Edmonton's 3 can't be subtracted back
        "Edmonton": ["<5", "—", "—"],
        "Combined": ["9", "13", "85%"],
    }
    notes = report.section(figures, "outputs")["notes"]["current"]["Edmonton"]
    assert {k: notes[k] for k in COMPLETION} == dict.fromkeys(COMPLETION, "fewer than 5 men")
    rows = report.figure_rows(figures)
    now = rows[rows["period"] == "FY2025-26"]
    places = now[now["figure"] == "Places ended"]
    assert list(places["shown"]) == ["—", "—", "13"]
    assert list(places["value"]) == [None, None, 13]
    assert "Places (enrollments) in fixed-length programs" in places["definition"].iloc[0]


def test_definitions_follow_the_settings(completions, engine, database_url):
    settings = Settings(
        database_url=database_url, secret_key="x", demo_mode=False, completion_threshold=0.8
    )
    figures = report.impact_figures(engine, FULL_SCOPE, FY, settings)
    rate = next(
        f for f in report.section(figures, "outputs")["figures"] if f["key"] == "completion_rate"
    )
    assert "at least 80% of the program's sessions" in rate["definition"]


# --- The chart builders (charts/impact.py): the gated figures, nothing else ---


def test_outputs_chart_draws_what_the_table_shows(small, engine, database_url, no_noise):
    from charts.impact import change_chart, outputs_chart, shares_chart

    settings = Settings(
        database_url=database_url, secret_key="x", demo_mode=False, survey_min_pairs=5
    )
    figures = report.impact_figures(engine, FUNDER, FY, settings)
    fig = outputs_chart(figures)
    keys = ["sessions_held", "men_reached", "new_members", "attendance_hours"]
    for index, key in enumerate(keys):
        for offset, period in enumerate(("previous", "current")):
            trace = fig.data[2 * index + offset]
            texts = [report.cell(figures, "outputs", c, key, period)[0] for c in figures["columns"]]
            assert list(trace.text) == texts, (key, period)
    men_now = fig.data[3]
    assert list(men_now.text) == ["—", "<5", "11"]
    assert list(men_now.y) == [0, 0, 11]  # hidden bars drawn empty: no exact value inside
    change = change_chart(figures)
    combined_change = report.section(figures, "swemwbs")["current"]["Combined"]["mean_change"]
    wellbeing = [t for t in change.data if t.xaxis == "x"]  # the first panel: SWEMWBS
    assert [(t.y[0], t.mode, t.text[0]) for t in wellbeing] == [
        ("Calgary", "text", "hidden"),
        ("Edmonton", "text", "hidden"),
        ("Combined", "markers+text", report.shown(combined_change, "mean_change")),
    ]
    shares = shares_chart(figures)
    notes = {a.y: a.text for a in shares.layout.annotations if a.y.startswith("Well-being")}
    assert notes == {
        "Well-being (SWEMWBS) · Calgary": "hidden: to protect a small figure beside it",
        "Well-being (SWEMWBS) · Edmonton": "hidden: fewer than 5 men",
    }
    assert [t.name for t in shares.data] == [
        "Reliably improved",
        "No reliable change",
        "Reliably worse",
    ]


def test_the_charts_written_as_dicts_pass_plotlys_checks(small, engine, settings):
    # charts/impact.py writes its figures as plain dicts taken as they are (figure_of): here
    # plotly checks every property, so a misspelt one fails rather than being drawn as nothing.
    import plotly.graph_objects as go

    for scope in (FULL_SCOPE, FUNDER):
        figures = report.impact_figures(engine, scope, FY, settings)
        charts = report.impact_charts(figures)
        assert len(charts) == 3
        for _, fig in charts:
            checked = go.Figure(fig.to_plotly_json())  # raises ValueError on a bad property
            assert checked.to_plotly_json() == fig.to_plotly_json()


def test_a_server_without_charts_still_gets_the_tables(small, engine, settings, monkeypatch):
    from dashboard import report_write

    def broken(figs, **_):
        raise RuntimeError("no browser")

    monkeypatch.setattr(report_write, "render_images", broken)
    figures = report.impact_figures(engine, FUNDER, FY, settings)
    reader, text = pdf_text(report.write_pdf(figures))
    assert "The charts could not be drawn on this server (RuntimeError)." in text
    assert sum(len(page.images) for page in reader.pages) == 0
    assert "Men reached" in text


# --- What each module pulls in ---


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        (
            "charts.impact",
            ("dash", "sqlalchemy", "callbacks", "layouts", "dashboard.report_compute"),
        ),
        (
            "dashboard.report_format",
            ("plotly", "dash", "sqlalchemy", "charts", "callbacks", "dashboard.metrics"),
        ),
        ("dashboard.report_compute", ("plotly", "dash", "charts", "callbacks", "layouts")),
        ("dashboard.report", ("dash", "callbacks", "layouts")),
    ],
)
def test_report_modules_import_alone(module, forbidden):
    import subprocess
    import sys
    from pathlib import Path

    code = f"import sys, {module}; print('\\n'.join(sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    loaded = set(done.stdout.split())
    for name in forbidden:
        assert not {m for m in loaded if m == name or m.startswith(name + ".")}, (module, name)


def test_no_heading_is_left_at_the_foot_of_a_page(demo_pdf):
    """Issue 12 item 10: a heading shares its page with what it introduces ("Outcomes" with
    the first scale's table, "Charts" with the first chart)."""
    _, figures, content = demo_pdf
    reader = PdfReader(io.BytesIO(content))
    pages = [" ".join(page.extract_text().split()) for page in reader.pages]
    first_scale = next(s for s in figures["sections"] if s["instrument"])["title"]
    (outcomes,) = [text for text in pages if report.OUTCOMES_TITLE in text]
    assert first_scale in outcomes
    (charts,) = [text for text in pages if "Charts Outputs, this period" in text]
    assert sum(len(page.images) for page in reader.pages) == len(report.impact_charts(figures))
    assert pages.index(charts) == next(i for i, page in enumerate(reader.pages) if page.images)
