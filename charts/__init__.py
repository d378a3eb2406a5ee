"""Pure figure builders: from a gated table to a plotly figure, no data access (shared by the
pages and the PDF)."""
