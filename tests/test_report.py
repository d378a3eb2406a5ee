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


def test_funder_sees_the_small_network_and_its_complement_hidden(small, engine, settings):
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


def test_csv_and_xlsx_hold_the_same_suppressed_figures(small, engine, settings):
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


def test_cli_report_is_suppressed_by_default(small, database_url, tmp_path, capsys, monkeypatch):
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
    """The funder's PDF of FY2025-26 on the demo data, charts drawn once for the module."""
    settings = Settings(database_url=demo_url, secret_key="x", demo_mode=False)
    engine = get_engine(demo_url)
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
