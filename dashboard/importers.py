"""The importers' public API under its short name; the code is in dashboard.importing."""

from dashboard.importing import (  # noqa: F401
    KINDS,
    ImportError_,
    ImportReport,
    Problem,
    escape_spreadsheet_cell,
    import_history,
    run_import,
    template,
    undo_import,
)
