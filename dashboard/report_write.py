"""The impact summary's files: CSV, XLSX and PDF, written from `impact_figures`' result (already
through the privacy gate) and its text (dashboard/report_format.py).

The PDF embeds the summary's charts. It draws them with the builders of charts/impact.py: this
is the one module of dashboard/ that imports charts/, a top-level package of pure plotly
builders with no Dash and no data imports (so the domain still never imports the UI).
"""

from __future__ import annotations

import asyncio
import io
from xml.sax.saxutils import escape

from charts.impact import change_chart, impact_charts, outputs_chart, shares_chart
from dashboard import chart_images
from dashboard.report_format import (
    OUTCOMES_TITLE,
    cell,
    change_text,
    figure_rows,
    suppression_note,
)

__all__ = [
    "RENDER_TIMEOUT",
    "change_chart",
    "impact_charts",
    "outputs_chart",
    "render_images",
    "shares_chart",
    "to_csv",
    "to_xlsx",
    "warm_up_charts",
    "write_pdf",
]

# Seconds the charts may take in all before the PDF gives them up (it then has a note instead).
RENDER_TIMEOUT = chart_images.RENDER_TIMEOUT


def to_csv(figures: dict) -> bytes:
    """The figures as CSV (UTF-8 with a BOM, so spreadsheets read the dashes right)."""
    from dashboard.importing import escape_spreadsheet_cell

    frame = figure_rows(figures)
    for column in frame.columns.drop("value"):  # numbers stay numbers
        frame[column] = [escape_spreadsheet_cell(v) for v in frame[column]]
    return frame.to_csv(index=False).encode("utf-8-sig")


def to_xlsx(figures: dict) -> bytes:
    """The figures as an XLSX workbook: the figures, and a sheet saying what they are."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from dashboard.importing import escape_spreadsheet_cell

    book = Workbook()
    sheet = book.active
    sheet.title = "Figures"
    frame = figure_rows(figures)
    sheet.append(list(frame.columns))
    for cell_ in sheet[1]:
        cell_.font = Font(bold=True)
    for row in frame.itertuples(index=False):
        sheet.append([escape_spreadsheet_cell(v) for v in row])
    for letter, width in zip("ABCDEFGHIJ", (12, 11, 11, 30, 30, 11, 10, 20, 34, 80), strict=True):
        sheet.column_dimensions[letter].width = width
    about = book.create_sheet("About")
    lines = [
        figures["title"],
        f"Period: {figures['period']['label']} ({figures['period']['dates']})",
        f"Compared with: {figures['previous']['label']} ({figures['previous']['dates']})",
        f"Selection: {figures['selection']}",
        suppression_note(figures),
        f"Prepared {figures['generated']:%Y-%m-%d %H:%M} by the Network Dashboard.",
    ]
    for line in lines:
        about.append([escape_spreadsheet_cell(line)])
    about["A1"].font = Font(bold=True, size=14)
    about.column_dimensions["A"].width = 120
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- The PDF ---


def render_images(figs: list, width: int = 1000, timeout: float | None = None) -> list[bytes]:
    """PNG images of plotly figures, drawn by this process's one headless browser, kept
    between PDFs and making no third-party request (dashboard/chart_images.py); together they
    may take at most `timeout` seconds."""
    return chart_images.RENDERER.render(figs, width, timeout or RENDER_TIMEOUT)


def warm_up_charts() -> None:
    """Start the chart browser in the background (a page that offers the PDF is open)."""
    chart_images.RENDERER.warm_up()


def write_pdf(figures: dict, images: list[bytes] | None = None, charts: bool = True) -> bytes:
    """The impact summary as a PDF: tables of every figure, then the charts as images.

    images: PNGs of impact_charts(figures) drawn beforehand (tests reuse them); by default
    they are drawn here. A server that can't draw charts still gets the tables, with a note.
    """
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import letter
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import (
        Image,
        KeepTogether,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    styles = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=styles["BodyText"], fontSize=9.5, leading=12)
    small = ParagraphStyle(
        "small", parent=body, fontSize=7.5, leading=9, textColor=colors.HexColor("#444444")
    )
    cell_style = ParagraphStyle("cell", parent=body, fontSize=9, leading=11)
    head = ParagraphStyle("head", parent=cell_style, fontName="Helvetica-Bold")
    h1 = ParagraphStyle("h1", parent=styles["Title"], alignment=0, fontSize=18, leading=22)
    h2 = ParagraphStyle("h2", parent=styles["Heading2"], fontSize=13, spaceBefore=10)
    h3 = ParagraphStyle("h3", parent=styles["Heading3"], fontSize=11, spaceBefore=6)

    def p(text: str, style=body) -> Paragraph:
        return Paragraph(escape(text), style)

    period, previous = figures["period"], figures["previous"]
    story = [
        p(f"{figures['title']}: {period['label']}", h1),
        p(
            f"{period['dates']} · {figures['selection']} · compared with "
            f"{previous['label']} ({previous['dates']})"
        ),
        Spacer(1, 3 * mm),
        p(suppression_note(figures), small),
        p(
            "Read it as a logic model: outputs are what the programs did; outcomes are "
            "what changed for the men, from their own surveys.",
            small,
        ),
    ]
    width = letter[0] - 36 * mm
    columns = figures["columns"]
    last = columns[-1]

    def value_paragraph(text: str, note: str | None) -> Paragraph:
        """A figure, and under a hidden one why it is hidden."""
        why = f"<br/><font size=7 color='#444444'>hidden: {escape(note)}</font>" if note else ""
        return Paragraph(escape(text) + why, cell_style)

    def table(part: dict) -> Table:
        header = [
            p("Figure", head),
            *(p(c, head) for c in columns),
            p(f"{last}, {previous['label']}", head),
            p("Change", head),
        ]
        rows = [header]
        for figure in part["figures"]:
            if not figure["show"]:
                continue
            label = Paragraph(
                f"<b>{escape(figure['label'])}</b><br/>"
                f"<font size=7 color='#444444'>{escape(figure['definition'])}"
                "</font>",
                cell_style,
            )
            cells = [
                value_paragraph(*cell(figures, part["id"], column, figure["key"]))
                for column in columns
            ]
            before = cell(figures, part["id"], last, figure["key"], "previous")
            change = change_text(figures, part["id"], last, figure["key"])
            rows.append([label, *cells, value_paragraph(*before), p(change, cell_style)])
        first = 62 * mm
        rest = (width - first) / (len(columns) + 2)
        result = Table(rows, colWidths=[first] + [rest] * (len(columns) + 2), repeatRows=1)
        result.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
                    ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.HexColor("#BBBBBB")),
                    ("BACKGROUND", (-2, 1), (-1, -1), colors.HexColor("#F3F3F3")),
                ]
            )
        )
        return result

    # A heading goes to the next page with what it introduces (never alone at a page's foot).
    lead: list = []
    for part in figures["sections"]:
        if part["instrument"] is None:
            story += [p(part["title"], h2), table(part)]
            lead = [
                p(OUTCOMES_TITLE, h2),
                p(
                    "Each man's baseline survey is paired with his latest later "
                    "survey on the same scale; the pair belongs to the period of the "
                    "later survey. Reliable change uses the scale's reliability "
                    "(Cronbach's alpha).",
                    small,
                ),
            ]
        else:
            story.append(
                KeepTogether(
                    [
                        *lead,
                        p(f"{part['title']} ({part['direction']})", h3),
                        p(part["name"], small),
                        table(part),
                    ]
                )
            )
            lead = []
    story += lead
    chart_list = impact_charts(figures) if charts else []
    for _, fig in chart_list:
        # Numbers above grouped bars a little smaller, so neighbours' don't run together.
        fig.update_traces(textfont_size=11, selector={"type": "bar", "textposition": "outside"})
    if chart_list:
        lead = [p("Charts", h2)]
        note = None
        if images is None:
            try:
                images = render_images([fig for _, fig in chart_list])
            # kaleido cancels its drawing on a timeout (CancelledError is no Exception)
            except (Exception, asyncio.CancelledError) as exc:  # noqa: BLE001
                name = "TimeoutError" if isinstance(exc, asyncio.CancelledError) else None
                name = name or type(exc).__name__
                note = f"The charts could not be drawn on this server ({name})."
        if images:
            for (title, fig), png in zip(chart_list, images, strict=True):
                ratio = (fig.layout.height or 360) / 1000
                story.append(
                    KeepTogether(
                        [
                            *lead,
                            p(title, h3),
                            Image(io.BytesIO(png), width=width, height=width * ratio),
                        ]
                    )
                )
                lead = []
        elif note:
            story += [*lead, p(note, small)]
    story += [
        Spacer(1, 4 * mm),
        p(
            f"Prepared {figures['generated']:%Y-%m-%d %H:%M} by the Network Dashboard "
            "of the Alberta Men's Network.",
            small,
        ),
    ]

    footer = f"{figures['title']} · {period['label']}"

    def on_page(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawString(18 * mm, 10 * mm, footer)
        canvas.drawRightString(letter[0] - 18 * mm, 10 * mm, f"page {doc.page}")
        canvas.restoreState()

    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=letter,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=18 * mm,
        title=f"{figures['title']} {period['label']}",
        author="Network Dashboard",
        subject="Alberta Men's Network",
    )
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return out.getvalue()
