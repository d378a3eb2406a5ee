"""Turning an uploaded file into rows of cells: decoding, headers, dates, numbers, choices.

The rules are documented in the package docstring (dashboard/importing/__init__.py).
"""

from __future__ import annotations

import calendar
import codecs
import csv
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass, field

from dashboard.importing.report import ImportReport

ISO_FIX = "write dates as YYYY-MM-DD, e.g. 2025-04-08"
# A cell an spreadsheet program would run as a formula: = + @ first, or - and a letter.
FORMULA = re.compile(r"^(?:[=+@]|-\s*[A-Za-z(])")
NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")
# An honest import file unpacks to a few MB and its longest cell is a list of communities;
# these caps stop a small upload that unpacks to gigabytes, or is one huge cell, from holding
# a worker for minutes.
MAX_UNPACKED_BYTES = 64 * 1024 * 1024
MAX_CELL_CHARS = 2000
MAX_BLANK_ROWS_ABOVE = 1000  # blank rows allowed above the header row
EXCEL_FIX = "open it in Excel, save it again as .xlsx, or save it as CSV"


@dataclass
class Table:
    """The cells of a file under normalised headers; rows keep their spreadsheet number."""

    headers: list[str]
    header_row: int = 1
    rows: list[tuple[int, list]] = field(default_factory=list)

    def records(self):
        """Yield (row number, {header: cell}) for every data row; unnamed columns dropped."""
        for number, cells in self.rows:
            yield number, {h: c for h, c in zip(self.headers, cells, strict=False) if h}


def normalise_header(name) -> str:
    """'Member Code' -> 'member_code', 'Item 1' / 'item1' -> 'item_1'."""
    text = "" if name is None else str(name).replace("\ufeff", "").strip().lower()
    text = re.sub(r"[\s\-]+", "_", text)
    match = re.fullmatch(r"item_?(\d+)", text)
    if match:
        return f"item_{int(match.group(1))}"
    return text


# ---------------------------------------------------------------- decoding and reading


def read_table(
    filename: str, content: bytes, report: ImportReport, *, max_rows: int, max_columns: int
) -> Table | None:
    """Read a CSV or XLSX file; None (with problems in the report) when it can't be read."""
    if not content or not content.strip(b" \t\r\n\x00\xef\xbb\xbf"):
        report.error(
            None,
            None,
            None,
            "The file is empty.",
            "choose the file again; download a template if you need one",
        )
        return None
    name = filename.lower()
    if content.startswith(b"PK\x03\x04"):
        grid = _xlsx_rows(content, report, max_rows)
    elif content.startswith(b"\xd0\xcf\x11\xe0"):
        report.error(
            None,
            None,
            None,
            "This is an old Excel (.xls) file, which can't be read.",
            "in Excel use File > Save As and choose .xlsx or CSV UTF-8",
        )
        return None
    elif name.endswith((".xlsx", ".xlsm")):
        report.error(
            None,
            None,
            None,
            "The file is named .xlsx but is not an Excel workbook.",
            "save it again from Excel as .xlsx, or as CSV",
        )
        return None
    else:
        text = _decode(content, report)
        if text is None:
            return None
        grid = _csv_rows(text)
    if grid is None:
        return None
    return _table(grid, report, max_rows=max_rows, max_columns=max_columns)


def _decode(content: bytes, report: ImportReport) -> str | None:
    """Text of a CSV: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252."""
    if content.startswith(codecs.BOM_UTF8):
        encodings = ["utf-8-sig"]
    elif content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ["utf-16"]
    elif b"\x00" in content:
        encodings = []
    else:
        encodings = ["utf-8", "cp1252"]
    for encoding in encodings:
        try:
            text = content.decode(encoding)
        except UnicodeDecodeError:
            continue
        if not re.search(r"[\x00-\x08\x0b\x0e-\x1f\x7f]", text):
            return text
        break
    report.error(
        None,
        None,
        None,
        "This file is not a text (CSV) file: it looks like a binary file renamed .csv.",
        "save the sheet from your spreadsheet program as CSV or .xlsx and import that",
    )
    return None


def _sniff_delimiter(text: str) -> str:
    """The delimiter of the header line: comma, semicolon or tab, whichever it has most of."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    first = re.sub(r'"[^"]*"', "", first)
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _csv_rows(text: str):
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text))
    # Rows are numbered as a spreadsheet shows them: one per record, blank lines included.
    for number, cells in enumerate(reader, start=1):
        _check_cell_sizes(number, cells)
        yield number, [_clean(c) for c in cells]


def _check_cell_sizes(number: int, cells) -> None:
    for value in cells:
        if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
            raise _ReadError(
                f"Row {number} has a cell of {len(value)} characters; the limit is "
                f"{MAX_CELL_CHARS}.",
                "check that row: a cell that long is not one of the import's values",
            )


def _clean(cell: str) -> str | None:
    """Spaces around a cell go; a cell with a line break stays whole, to be refused (it is
    usually the sign of an unclosed quote)."""
    if "\n" in cell or "\r" in cell:
        return cell
    return cell.strip() or None


def unpacked_size(content: bytes) -> int:
    """The size of a zip's files once unpacked, as the zip declares it (zipfile never reads
    past a member's declared size, so this bounds what reading can take)."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return sum(info.file_size for info in archive.infolist())


def _xlsx_rows(content: bytes, report: ImportReport, max_rows: int):
    from openpyxl import load_workbook

    try:
        size = unpacked_size(content)
        if size > MAX_UNPACKED_BYTES:
            report.error(
                None,
                None,
                None,
                f"This Excel file unpacks to {size // 2**20} MB; the limit is "
                f"{MAX_UNPACKED_BYTES // 2**20} MB.",
                "delete what the import doesn't use (other sheets, pictures), or save it as CSV",
            )
            return None
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=False)
        sheet = workbook.active if workbook.active is not None else workbook.worksheets[0]
        declared = sheet.max_row
        sheet.reset_dimensions()  # some programs write a wrong size; read every cell
    except Exception as exc:  # openpyxl raises many kinds on a damaged or foreign zip
        report.error(
            None,
            None,
            None,
            f"This Excel file can't be read ({exc.__class__.__name__}).",
            EXCEL_FIX,
        )
        return None
    if declared is not None and declared > max_rows + MAX_BLANK_ROWS_ABOVE:
        workbook.close()
        report.error(
            None,
            None,
            None,
            f"The sheet says it has {declared} rows; the limit is {max_rows} data rows.",
            f"delete the empty rows below the data, or split it into files of at most "
            f"{max_rows} rows",
        )
        return None
    return _xlsx_cells(workbook, sheet)


class _ReadError(Exception):
    def __init__(self, message: str, fix: str = EXCEL_FIX):
        super().__init__(message)
        self.fix = fix


def _xlsx_cells(workbook, sheet):
    try:
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            _check_cell_sizes(number, values)
            cells = []
            for value in values:
                if isinstance(value, str):
                    value = value.strip() or None
                elif isinstance(value, dt.datetime):
                    value = value.date()
                elif isinstance(value, dt.time | dt.timedelta):
                    value = str(value)
                cells.append(value)
            yield number, cells
    except _ReadError:
        raise
    except Exception as exc:
        raise _ReadError(f"This Excel file can't be read ({exc.__class__.__name__}).") from exc
    finally:
        workbook.close()


def _table(grid, report: ImportReport, *, max_rows: int, max_columns: int) -> Table | None:
    table = None
    try:
        for number, cells in grid:
            while cells and cells[-1] is None:
                cells.pop()
            if table is None:
                if not cells and number > MAX_BLANK_ROWS_ABOVE:
                    break  # no header in sight: reported as an empty file
                if not cells:
                    continue  # blank lines above the header
                if len(cells) > max_columns:
                    report.error(
                        number,
                        None,
                        None,
                        f"The file has {len(cells)} columns; the limit is {max_columns}.",
                        "delete the columns the import doesn't use",
                    )
                    return None
                table = Table([normalise_header(c) for c in cells], header_row=number)
                _check_headers(table, number, report)
                continue
            # Blank rows count too: millions of them cost as much to read as data rows.
            if number - table.header_row > max_rows:
                report.error(
                    number,
                    None,
                    None,
                    f"The file has more than {max_rows} data rows, the limit (blank rows "
                    "count too).",
                    f"delete blank rows, or split it into files of at most {max_rows} rows",
                )
                return None
            if not cells:
                continue
            table.rows.append((number, cells))
    except csv.Error as exc:
        report.error(
            None,
            None,
            None,
            f"The CSV file is malformed ({exc}).",
            'check for an unclosed quote (") and save the file again',
        )
        return None
    except _ReadError as exc:
        report.error(None, None, None, str(exc), exc.fix)
        return None
    if table is None:
        report.error(
            None,
            None,
            None,
            "The file is empty.",
            "choose the file again; download a template if you need one",
        )
        return None
    return table


def _check_headers(table: Table, number: int, report: ImportReport) -> None:
    seen: set[str] = set()
    for name in table.headers:
        if name and name in seen:
            report.error(
                number,
                name,
                name,
                f"The column {name!r} appears twice.",
                "keep one column of that name",
            )
        seen.add(name)


# ---------------------------------------------------------------- cells


class CellError(ValueError):
    """A cell that can't be read: message and fix for the report."""

    def __init__(self, message: str, fix: str):
        super().__init__(message)
        self.message = message
        self.fix = fix


def cell_text(value) -> str:
    """A cell as it would be shown: numbers without a useless .0, dates in ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def is_formula(value) -> bool:
    return isinstance(value, str) and bool(FORMULA.match(value.strip()))


def refused(value) -> tuple[str, str] | None:
    """(message, fix) for a cell refused whatever its column: a formula, or a line break."""
    if is_formula(value):
        return (
            f"{cell_text(value)!r} looks like a spreadsheet formula, which is not accepted.",
            "type the value itself, without a leading = + - or @",
        )
    if isinstance(value, str) and ("\n" in value or "\r" in value):
        return (
            "The cell runs over several lines.",
            'remove the line breaks; if a quote (") opens a value, close it on the same line',
        )
    return None


MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
MONTHS["sept"] = 9
_TIME = r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_ISO = re.compile(rf"^(\d{{4}})([-/.])(\d{{1,2}})\2(\d{{1,2}}){_TIME}$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_NUMERIC = re.compile(r"^(\d{1,2})([-/.])(\d{1,2})\2(\d{2}|\d{4})$")
_DAY_MONTH = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?[\s\-/]+([A-Za-z]+)\.?,?[\s\-/]+(\d{2,4})$")
_MONTH_DAY = re.compile(r"^([A-Za-z]+)\.?[\s\-/]+(\d{1,2})(?:st|nd|rd|th)?,?[\s\-/]+(\d{2,4})$")
_YEAR_MONTH = re.compile(r"^(\d{4})[\s\-/]+([A-Za-z]+)\.?[\s\-/]+(\d{1,2})$")


def parse_date(value) -> dt.date:
    """A date from a cell, by the rules of the package docstring; CellError otherwise."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise CellError(
            f"{cell_text(value)!r} is a number, not a date",
            f"format the column as dates, or {ISO_FIX}",
        )
    text = re.sub(r"\s+", " ", str(value).strip())
    shown = repr(text)
    if match := _ISO.match(text):
        return _make(shown, int(match[1]), int(match[3]), int(match[4]))
    if match := _COMPACT.match(text):
        return _make(shown, int(match[1]), int(match[2]), int(match[3]))
    if match := _NUMERIC.match(text):
        first, second, year = int(match[1]), int(match[3]), match[4]
        if len(year) == 2:
            raise _two_digit_year(shown)
        return _numeric_date(shown, first, second, int(year))
    for pattern, order in ((_DAY_MONTH, "dmy"), (_MONTH_DAY, "mdy"), (_YEAR_MONTH, "ymd")):
        if match := pattern.match(text):
            parts = dict(zip(order, match.groups(), strict=True))
            month = MONTHS.get(parts["m"].lower())
            if month is None:
                break
            if len(parts["y"]) != 4:
                raise _two_digit_year(shown)
            return _make(shown, int(parts["y"]), month, int(parts["d"]))
    raise CellError(f"{shown} is not a date", ISO_FIX)


def _make(shown: str, year: int, month: int, day: int) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise CellError(f"{shown} is not a real date", ISO_FIX) from None


def _two_digit_year(shown: str) -> CellError:
    return CellError(f"{shown} has a two-digit year", f"write the year in full; {ISO_FIX}")


def _numeric_date(shown: str, first: int, second: int, year: int) -> dt.date:
    """dd/mm/yyyy or mm/dd/yyyy: accepted only when a single reading is a real date."""
    readings = {}
    for day, month in ((first, second), (second, first)):
        try:
            readings[(day, month)] = dt.date(year, month, day)
        except ValueError:
            pass
    dates = set(readings.values())
    if not dates:
        raise CellError(f"{shown} is not a real date", ISO_FIX)
    if len(dates) > 1:
        a, b = sorted(dates)
        raise CellError(
            f"{shown} is ambiguous (day and month could be swapped)",
            f"write it as {a.isoformat()} ({a.day} {calendar.month_name[a.month]}) or "
            f"{b.isoformat()} ({b.day} {calendar.month_name[b.month]}), as YYYY-MM-DD",
        )
    return dates.pop()


def parse_int(value, low: int, high: int, what: str) -> int:
    """A whole number in [low, high]."""
    if isinstance(value, bool):
        raise CellError(f"{cell_text(value)!r} is not a number", f"write {what}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    else:
        text = cell_text(value)
        if not re.fullmatch(r"[+-]?\d+(\.0*)?", text):
            raise CellError(f"{text!r} is not a whole number", f"write {what}")
        number = int(float(text))
    if not low <= number <= high:
        raise CellError(f"{number} is outside {low}-{high}", f"write {what}")
    return number


TRUE = {"true", "yes", "y", "1", "x", "cancelled", "canceled"}
FALSE = {"false", "no", "n", "0"}


def parse_bool(value) -> bool:
    if isinstance(value, bool):
        return value
    text = cell_text(value).lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise CellError(
        f"{cell_text(value)!r} is not true or false",
        "write true or false (or leave it empty for false)",
    )


def parse_choice(value, choices: list[str], what: str, aliases: dict | None = None) -> str:
    """One of `choices`, matched ignoring case, spaces, '_' and dash kinds."""
    text = cell_text(value)

    def key(s: str) -> str:
        s = s.lower().replace("\u2013", "-").replace("\u2014", "-").replace("'", "")
        return re.sub(r"[\s_\-]+", "-", s.strip())

    lookup = {}
    for name, choice in [(c, c) for c in choices] + list((aliases or {}).items()):
        lookup[key(name)] = lookup[key(name).replace("-", "")] = choice
    found = lookup.get(key(text)) or lookup.get(key(text).replace("-", ""))
    if found is None:
        raise CellError(f"{text!r} is not an allowed {what}", f"write one of: {', '.join(choices)}")
    return found


WEEKDAYS = {name.lower(): i for i, name in enumerate(calendar.day_name)}
WEEKDAYS.update({name.lower(): i for i, name in enumerate(calendar.day_abbr)})
WEEKDAYS.update({"tues": 1, "thur": 3, "thurs": 3})


def parse_weekday(value) -> int:
    """Monday..Sunday (or Mon..Sun) -> 0..6; numbers are refused (is 1 Monday or Tuesday?)."""
    text = cell_text(value).lower().rstrip(".")
    if text in WEEKDAYS:
        return WEEKDAYS[text]
    raise CellError(
        f"{cell_text(value)!r} is not a day of the week", "write the day's name, e.g. Tuesday"
    )


def escape_spreadsheet_cell(value):
    """Make a value safe for a CSV/XLSX export: text a spreadsheet would run as a formula
    (starting with = + - @, or a tab or carriage return) gets a leading apostrophe.

    Numbers, dates, None and text that is a plain number (e.g. "-3.5") are returned unchanged.
    """
    if not isinstance(value, str) or not value:
        return value
    if value[0] in "=+-@\t\r" and not NUMBER.match(value):
        return "'" + value
    return value
