"""The privacy gate (SPEC §4): every table, card, chart series and download a user receives
passes through `Gate`, which knows the user's scope and each figure's kind and privacy base
from the catalogue. Nothing else in the code decides what is hidden.

- coordinators (own networks) and admins receive exact figures;
- leadership and funders receive counts of men below k as hidden (shown `<k`), every figure
  resting on such a count hidden, and complementary cells hidden where a table shows totals.
"""

from __future__ import annotations

import pandas as pd

from dashboard import catalogue
from dashboard.access import Scope
from dashboard.privacy import Suppressed, suppress


class MemberRowsRefused(PermissionError):
    """A member-level table was asked for by a role that never receives one."""


class Gate:
    """What one user may receive: exact, or protected (SPEC §4)."""

    def __init__(self, scope: Scope, threshold: int):
        self.scope = scope
        self.k = threshold

    @property
    def exact(self) -> bool:
        """True when this user sees exact figures (coordinators and admins)."""
        return self.scope.sees_exact_figures

    @property
    def threshold(self) -> int:
        """The k in force for this user: 0 when nothing is hidden."""
        return 0 if self.exact else self.k

    def _columns(self, names, columns: dict[str, str] | None) -> dict[str, str]:
        mapping = {name: name for name in names if name in catalogue.FIGURES}
        mapping.update(columns or {})
        return mapping

    def table(
        self,
        frame: pd.DataFrame,
        columns: dict[str, str] | None = None,
        totals: tuple[str, ...] = (),
    ) -> Suppressed:
        """A table of figures as this user may receive it.

        columns: {column: figure key} for columns not named after their figure (columns named
            after a catalogue figure are recognised by name).
        totals: "column"/"row" when the page shows totals along that direction (complementary
            suppression then hides a second cell so no hidden one can be subtracted back).
        """
        counts, derived = catalogue.roles(self._columns(frame.columns, columns))
        counts = [c for c in counts if c in frame.columns]
        derived = {c: b for c, b in derived.items() if c in frame.columns and b in frame.columns}
        return suppress(frame, self.threshold, counts, derived, () if self.exact else totals)

    def record(self, record: dict, columns: dict[str, str] | None = None) -> tuple[dict, list[str]]:
        """One row of figures: the dict this user may receive, and the keys it hid."""
        result = self.table(pd.DataFrame([record]), columns)
        safe = {key: (None if result.hidden.iloc[0][key] else record[key]) for key in record}
        return safe, result.hidden_columns()

    def summary(self, figures: dict) -> dict:
        """The `summary` figures (outputs, retention and one block per instrument): hidden
        values None, their keys listed in `suppressed`."""
        flat = {k: v for k, v in figures.items() if k != "surveys"}
        safe, hidden = self.record(flat)
        surveys = {}
        for instrument_id, survey in figures.get("surveys", {}).items():
            surveys[instrument_id], survey_hidden = self.record(survey)
            hidden += [f"surveys.{instrument_id}.{key}" for key in survey_hidden]
        safe["surveys"] = surveys
        safe["suppressed"] = hidden
        return safe

    def allows(self, count) -> bool:
        """Whether a figure resting on `count` men may be shown to this user."""
        return count is not None and (self.exact or count >= self.k)

    def enough(self, count) -> bool:
        """Whether an estimate over `count` men is shown beside others in a ranking (e.g. the
        groups where retention is weakest): k for every role, exact ones too, since a share
        of fewer men says little and would fill the ranking."""
        return count is not None and count >= self.k

    def member_rows(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A member-level table: only coordinators and admins ever receive one."""
        if not self.scope.may_see_member_rows:
            raise MemberRowsRefused(f"the {self.scope.role} role never receives member rows")
        return frame

    def shown(self, key: str, value) -> str:
        """A gated value as text: `<k` for a hidden count of men, a dash for anything else."""
        hidden = f"<{self.k}" if catalogue.figure(key).counts_men else "—"
        return catalogue.format_value(key, value, hidden)

    def hidden_text(self, key: str) -> str:
        return f"<{self.k}" if catalogue.figure(key).counts_men else "—"

    def reason(self, record: dict, key: str, columns: dict[str, str] | None = None) -> str:
        """Why a cell of `record` (its exact figures, on the server) was hidden."""
        counts, derived = catalogue.roles(self._columns(record, columns))
        base = key if key in counts else derived.get(key, key)
        value = record.get(base)
        if value is None or value < self.k:
            return f"fewer than {self.k} men"
        return "to protect a small figure beside it"

    def note(self) -> str:
        """The sentence under a protected table or chart."""
        return f"Counts of fewer than {self.k} men are hidden, with what rests on them."
