"""The impact summary: SPEC §3 figures framed as a logic model (outputs, then outcomes).

It is made in three steps, one module each:
- dashboard/report_compute.py: the figures per network and combined, for the period and the
  one before, through the privacy gate (`impact_figures`, the one function every view reads);
- dashboard/report_format.py: their text, from the catalogue (labels, definitions, formats);
- dashboard/report_write.py: the CSV, XLSX and PDF files (the PDF with the charts of
  charts/impact.py).

This module re-exports their public names, so `from dashboard import report` keeps working.
New code may import the modules themselves (and the chart builders from charts/impact.py).
"""

from __future__ import annotations

from dashboard.report_compute import (
    INSTRUMENT_ORDER,
    OUTPUT_RECORD_KEYS,
    column_names,
    columns_of,
    describe_period,
    gated_columns,
    gated_summary,
    impact_figures,
    impact_raw,
    instruments,
    narrowed,
    output_record,
    period_figures,
)
from dashboard.report_format import (
    COMBINED,
    NOT_SHOWN,
    OUTCOME_KEYS,
    OUTCOMES_TITLE,
    OUTPUT_KEYS,
    OUTPUTS_TITLE,
    SHORT_NAMES,
    TITLE,
    cell,
    change_digits,
    change_format,
    change_text,
    describe_selection,
    figure_entry,
    figure_rows,
    file_stem,
    hidden_text,
    section,
    section_figures,
    shown,
    suppression_note,
)
from dashboard.report_write import (
    RENDER_TIMEOUT,
    change_chart,
    impact_charts,
    outputs_chart,
    render_images,
    shares_chart,
    to_csv,
    to_xlsx,
    warm_up_charts,
    write_pdf,
)

__all__ = [
    "COMBINED",
    "INSTRUMENT_ORDER",
    "OUTPUT_RECORD_KEYS",
    "NOT_SHOWN",
    "OUTCOME_KEYS",
    "OUTCOMES_TITLE",
    "OUTPUT_KEYS",
    "OUTPUTS_TITLE",
    "RENDER_TIMEOUT",
    "SHORT_NAMES",
    "TITLE",
    "cell",
    "change_chart",
    "change_digits",
    "change_format",
    "change_text",
    "column_names",
    "columns_of",
    "describe_period",
    "describe_selection",
    "figure_entry",
    "figure_rows",
    "file_stem",
    "gated_columns",
    "gated_summary",
    "hidden_text",
    "impact_charts",
    "impact_figures",
    "impact_raw",
    "instruments",
    "narrowed",
    "output_record",
    "outputs_chart",
    "period_figures",
    "render_images",
    "section",
    "section_figures",
    "shares_chart",
    "shown",
    "suppression_note",
    "to_csv",
    "to_xlsx",
    "warm_up_charts",
    "write_pdf",
]
