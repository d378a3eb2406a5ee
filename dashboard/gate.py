"""The privacy gate (SPEC §4): every table, card, chart series and download a user receives
passes through `Gate`, which knows the user's scope and each figure's kind and privacy base
from the catalogue. Nothing else in the code decides what is hidden.

- coordinators (own networks) and admins receive exact figures;
- leadership and funders (through releases) receive protected figures: every count of men
  perturbed by the cell-key method (dashboard/cellkey.py), hidden (`<k`) when the exact or
  the protected count is below k, every figure resting on a hidden count hidden, survey
  outcomes only with `SURVEY_MIN_PAIRS` pairs, shares rounded to whole percent, means and
  changes to one decimal, and complementary cells hidden where a table shows totals.
Cell keys that metrics return beside their counts (`<count>__cellkey`) never leave the gate.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Callable

import pandas as pd

from dashboard import catalogue, cellkey
from dashboard.access import Scope
from dashboard.privacy import (
    Columns,
    Suppressed,
    as_suppressed,
    blanked,
    columns_of,
    hidden_cells,
    number,
)

# Decimals a protected figure of each kind keeps (SPEC §4: shares to whole percent, means of
# scores to one decimal): no unrounded float of a protected figure leaves the server.
PROTECTED_DIGITS = {
    catalogue.SHARE: 2,
    catalogue.SURVIVAL: 2,
    catalogue.MEAN: 1,
    catalogue.CHANGE: 1,
    catalogue.RATIO: 1,
    catalogue.HOURS: 0,
    catalogue.ROWS: 0,
}


def _count_gated() -> None:
    """Mark the request as gated (the test of every callback checks fetched => gated)."""
    import flask

    if flask.has_request_context():
        flask.g.gated = getattr(flask.g, "gated", 0) + 1


def _plain(value):
    """A cell of a gated one-row table as a plain Python value (None when hidden)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


class MemberRowsRefused(PermissionError):
    """A member-level table was asked for by a role that never receives one."""


class Gate:
    """What one user may receive: exact, or protected (SPEC §4)."""

    def __init__(
        self,
        scope: Scope,
        threshold: int,
        survey_min_pairs: int = 10,
        exact_values: bool = False,
        secret: str = "",
    ):
        self.scope = scope
        # Keys the fallback cell key (below): without it an attacker who knows the code
        # could compute every candidate count's adjustment and read the exact count back.
        self.secret = secret.encode()
        self.k = threshold
        self.min_pairs = survey_min_pairs
        # SPEC §5 `summary --suppress`: the threshold rule alone, on exact values (no
        # perturbation, rounding or SURVEY_MIN_PAIRS), so that the rule can be checked.
        self.exact_values = exact_values

    @classmethod
    def for_user(cls, scope: Scope, settings) -> Gate:
        """The gate of one user under a deployment's settings (its k, its minimum pairs and
        the secret that keys fallback cell keys): pages, reports and exports alike."""
        return cls(
            scope,
            settings.suppression_threshold,
            settings.survey_min_pairs,
            secret=settings.cell_key_secret(),
        )

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
        frame = frame.reset_index(drop=True)
        safe, hidden, threshold = self._gated(columns_of(frame), lambda: frame, columns, totals)
        return as_suppressed(safe, hidden, threshold)

    def rows(
        self,
        records: list[dict],
        columns: dict[str, str] | None = None,
        totals: tuple[str, ...] = (),
    ) -> tuple[list[dict], list[dict]]:
        """`table` for rows given as dicts, without a DataFrame (a few rows of many figures,
        as the impact summary's columns): each row as this user may receive it, and each
        row's {figure: hidden}. A figure a row lacks is missing (None), as in a table."""
        names = list(dict.fromkeys(name for record in records for name in record))
        cells = {name: [record.get(name) for record in records] for name in names}
        safe, hidden, _ = self._gated(cells, lambda: pd.DataFrame(records), columns, totals)
        rows = range(len(records))
        return (
            [{name: values[i] for name, values in safe.items()} for i in rows],
            [{name: marks[i] for name, marks in hidden.items()} for i in rows],
        )

    def _gated(
        self,
        cells: Columns,
        as_frame: Callable[[], pd.DataFrame],
        columns: dict[str, str] | None,
        totals: tuple[str, ...],
    ) -> tuple[Columns, dict[str, list[bool]], int]:
        """`table`'s rules on its cells: the cells sent (hidden ones None), the hidden marks
        and the threshold in force. `as_frame` gives the table as a DataFrame for the rare
        rows of one session."""
        _count_gated()
        mapping = self._columns(list(cells), columns)
        counts, derived = catalogue.roles(mapping)
        counts = [c for c in counts if c in cells]
        derived = {c: b for c, b in derived.items() if c in cells and b in cells}
        shown = {c: v for c, v in cells.items() if not c.endswith(cellkey.KEY_SUFFIX)}
        if self.exact:
            hidden = hidden_cells(shown, 0, counts, derived)
            return blanked(shown, hidden), hidden, 0
        protected = dict(shown)
        if not self.exact_values:
            for column in counts:
                # As a DataFrame column holds them: floats beside a missing count.
                protected[column] = pd.Series(
                    self._protected_counts(cells, column, mapping[column])
                ).tolist()
        hidden = hidden_cells(protected, self.k, counts, derived, totals)
        safe = blanked(protected, hidden)
        if self._has_one_session_rows(cells):
            safe, hidden = self._one_session_men(
                as_frame(), cells, mapping, derived, safe, hidden, protected
            )
        if self.exact_values:
            return safe, hidden, self.k
        for column, base in derived.items():
            if mapping.get(base, base) in catalogue.SURVEY_BASES:
                for row, value in enumerate(cells[base]):
                    pairs = number(value)
                    if (0 if math.isnan(pairs) else pairs) < self.min_pairs:
                        hidden[column][row] = True
                        safe[column][row] = None
        for column, values in safe.items():
            key = mapping.get(column)
            digits = PROTECTED_DIGITS.get(catalogue.figure(key).kind) if key else None
            if digits is not None:
                safe[column] = [
                    None if v is None or pd.isna(v) else round(float(v), digits) for v in values
                ]
        return safe, hidden, self.k

    @staticmethod
    def _has_one_session_rows(cells: Columns) -> bool:
        return any(number(v) <= 1 for v in cells.get("sessions_held", ()))

    def _one_session_men(self, frame, cells, mapping, derived, safe, hidden, protected):
        """Rows of one session: the record counts that are counts of men there (catalogue
        MEN_IN_ONE_SESSION) protected as counts of men (`<k` hidden, perturbed like the count
        they equal), and, for protected figures, the other figures of the same men withheld.
        Returns the cells and hidden marks with those rows' changes (rare: done in pandas)."""
        result = as_suppressed(safe, hidden, self.k)
        protected = pd.DataFrame(protected) if not self.exact_values else result.frame
        one = pd.to_numeric(frame["sessions_held"], errors="coerce").le(1)
        column_of = {key: column for column, key in mapping.items()}
        withheld_rows = one if not self.exact_values else pd.Series(False, index=frame.index)
        for column, key in mapping.items():
            equals = catalogue.MEN_IN_ONE_SESSION.get(key)
            if equals is None or column not in frame.columns:
                continue
            if self.exact_values:
                values = pd.to_numeric(frame[column], errors="coerce")
            elif column_of.get(equals, equals) in protected.columns and equals != key:
                values = pd.to_numeric(protected[column_of.get(equals, equals)], errors="coerce")
            else:
                values = pd.Series(self._protected_counts(cells, column, key), index=frame.index)
                values = pd.to_numeric(values, errors="coerce")
            small = one & (values.lt(self.k) | result.hidden[column])
            result.frame[column] = result.frame[column].astype(object)
            result.frame.loc[one, column] = values[one].where(~small[one], None).astype(object)
            result.hidden.loc[one, column] = small[one]
            if self.exact_values:
                withheld_rows = withheld_rows | small
        # Rates, means and hours of one session's men give their exact numbers back: withheld
        # beside protected counts, and beside a hidden one when values are exact.
        withheld = [
            c
            for c, base in derived.items()
            if mapping.get(base, base) == "men_reached"
            and mapping.get(c) not in catalogue.MEN_IN_ONE_SESSION
        ]
        for column in withheld:
            result.frame[column] = result.frame[column].astype(object)
            result.frame.loc[withheld_rows, column] = None
            result.hidden.loc[withheld_rows, column] = True
        marks = {column: result.hidden[column].tolist() for column in result.hidden.columns}
        return columns_of(result.frame), marks

    def _protected_counts(self, cells: Columns, column: str, key: str) -> list:
        """A column of counts of men as protected counts: the cell-key perturbation of each
        (SPEC §4), 0 where the exact count is below k so that it stays hidden."""
        keys = cells.get(cellkey.key_column(column), cells.get(cellkey.key_column(key)))
        values = []
        for row, count in enumerate(cells[column]):
            if count is None or pd.isna(count):
                values.append(None)
                continue
            count = int(count)
            if count < self.k:
                values.append(0)
                continue
            if keys is not None and not pd.isna(keys[row]):
                cell = cellkey.cell_key(int(keys[row]))
            else:
                labels = [str(v[row]) for v in cells.values() if isinstance(v[row], str)]
                cell = self._fallback_key(labels, key, count, self.secret)
            values.append(cellkey.perturb(count, cell, self.k))
        return values

    @staticmethod
    def _fallback_key(labels: list[str], key: str, count: int, secret: bytes = b"") -> float:
        """A cell key for a count whose metric gives no key sum: a keyed hash (the server's
        secret) of the figure, the row's labels and the count, so the same cell always gets
        the same adjustment and nobody without the secret can compute it."""
        message = "|".join([key, str(count), *labels]).encode()
        digest = hmac.new(secret, message, hashlib.sha256).digest()
        return int.from_bytes(digest[:5], "big") / cellkey.KEY_SPACE

    def record(self, record: dict, columns: dict[str, str] | None = None) -> tuple[dict, list[str]]:
        """One row of figures: the dict this user may receive, and the keys it hid."""
        result = self.table(pd.DataFrame([record]), columns)
        safe = {key: _plain(result.frame.iloc[0][key]) for key in result.frame.columns}
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
        _count_gated()
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
