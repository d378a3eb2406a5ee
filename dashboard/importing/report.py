"""What an import tells its user: the problems found and what was (or would be) written."""

from __future__ import annotations

from dataclasses import dataclass, field

# as_text stops listing problems after this many lines (the list itself keeps them all).
TEXT_PROBLEM_LIMIT = 200


class ImportError_(ValueError):  # noqa: N801 - the trailing _ keeps clear of the builtin
    """An import or an undo refused, with a message for the person who asked."""


@dataclass
class Problem:
    """One problem of a file: where it is, what is wrong and how to fix it."""

    row: int | None  # spreadsheet row number, header = row 1; None: the whole file
    column: str | None  # header name as normalised (e.g. member_code)
    value: str | None
    message: str  # a whole sentence, quoting the value where it helps
    fix: str
    severity: str = "error"  # "error" | "warning"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def as_text(self) -> str:
        """'row 4, column date: '03/04/2025' is ambiguous .... Fix: ...'."""
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column}")
        place = ", ".join(where) or "file"
        label = "warning, " if self.severity == "warning" else ""
        fix = f" Fix: {self.fix.rstrip('.')}." if self.fix else ""
        return f"{label}{place}: {self.message.rstrip('.')}.{fix}"


@dataclass
class ImportReport:
    """The result of one run_import: problems, counts and a preview of the parsed rows."""

    kind: str
    filename: str
    rows: int = 0
    problems: list[Problem] = field(default_factory=list)
    rows_added: int = 0
    rows_updated: int = 0
    dry_run: bool = False
    batch_id: int | None = None
    preview: list[dict] = field(default_factory=list)
    # Rows added/updated per table, e.g. {"attendance": 118, "session": 2}.
    added: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the file has no errors (warnings allowed)."""
        return not self.errors

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]

    def error(self, row, column, value, message, fix) -> None:
        self.problems.append(Problem(row, column, _text(value), message, fix, "error"))

    def warning(self, row, column, value, message, fix) -> None:
        self.problems.append(Problem(row, column, _text(value), message, fix, "warning"))

    def sort(self) -> None:
        self.problems.sort(key=lambda p: (p.row if p.row is not None else 0))

    def summary(self) -> str:
        """One line: what happened to the file."""
        errors, warnings = len(self.errors), len(self.warnings)
        head = f"{self.kind} file {self.filename!r}: {self.rows} row{'s' * (self.rows != 1)}"
        counts = f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"
        if not self.ok:
            return f"{head}, {counts}. Nothing was written: fix the errors and import again."
        changes = _changes(self.added, "added") + _changes(self.updated, "updated")
        what = "; ".join(changes) if changes else "nothing to change"
        if self.dry_run:
            return f"{head}, {counts}. Dry run, nothing written; an import would: {what}."
        if self.batch_id is None:
            return f"{head}, {counts}. Nothing to change: the database already has these rows."
        return f"{head}, {counts}. Imported as batch {self.batch_id}: {what}."

    def as_text(self) -> str:
        """The human report the command line prints: one line per problem, then a summary."""
        lines = [p.as_text() for p in self.problems[:TEXT_PROBLEM_LIMIT]]
        if len(self.problems) > TEXT_PROBLEM_LIMIT:
            lines.append(f"... and {len(self.problems) - TEXT_PROBLEM_LIMIT} more problems.")
        lines.append(self.summary())
        return "\n".join(lines)


def _changes(counts: dict[str, int], verb: str) -> list[str]:
    parts = [f"{n} {TABLE_LABELS.get(t, t)}" for t, n in counts.items() if n]
    return [f"{verb} {', '.join(parts)}"] if parts else []


TABLE_LABELS = {
    "group": "group(s)",
    "member": "member(s)",
    "enrollment": "enrollment(s)",
    "session": "session(s)",
    "attendance": "attendance record(s)",
    "survey_response": "survey response(s)",
}


def _text(value) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."
