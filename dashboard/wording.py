"""How small pieces of text read wherever they are built: "a"/"an", plurals, a signed change
that never reads "-0", percentage points, a program type's label. Pure functions: no Dash,
no database (the report's text and the chart builders use them)."""

from __future__ import annotations

# What users read for each program type of models.PROGRAM_TYPES (filters, tables, notes).
# Kept here, not in models, so text-only modules (report_format, charts) need no SQLAlchemy.
PROGRAM_LABELS = {
    "wellbeing-10": "Men's Well-Being (10 sessions)",
    "peer-support": "Peer support (open)",
    "mens-shed": "Men's shed",
    "fathers": "Fathers' circle",
    "healing-circle": "Healing circle",
}
# Words that start with a vowel letter but a consonant sound, and the reverse.
_CONSONANT_SOUND = ("one", "once", "uni", "use", "usu", "uti", "eu", "ucla")
_VOWEL_SOUND = ("hour", "honest", "honour", "heir")


def article(word: str) -> str:
    """'a' or 'an' for `word`, by its first sound: 'an' Edmonton, 'a' Calgary, 'a' user."""
    lower = word.strip().lower()
    if lower.startswith(_VOWEL_SOUND):
        return "an"
    if lower.startswith(_CONSONANT_SOUND):
        return "a"
    return "an" if lower[:1] in set("aeiou") else "a"


def with_article(word: str) -> str:
    """'an attendance', 'a Calgary': the word after its article."""
    return f"{article(word)} {word}"


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 row', '2 rows', '1,204 rows' (`many`: an irregular plural)."""
    return f"{n:,} {word if n == 1 else many or word + 's'}"


def rounds_to_zero(value: float, digits: int = 0) -> bool:
    """Whether `value` reads as zero at `digits` decimals (-0.04 at one decimal does)."""
    return round(float(value), digits) == 0


def signed(value: float, digits: int = 0) -> str:
    """'+1.2', '-0.4', '+1,204'; a value that rounds to zero reads '0.0' (never '-0.0')."""
    if rounds_to_zero(value, digits):
        return f"{0:.{digits}f}"
    return f"{value:+,.{digits}f}"


def signed_percent(share: float, digits: int = 0) -> str:
    """A relative change as '+12%' or '-3%'; one that rounds to zero reads '0%'."""
    if rounds_to_zero(share * 100, digits):
        return f"{0:.{digits}%}"
    return f"{share:+.{digits}%}"


def sign(value: float, digits: int = 0) -> int:
    """-1, 0 or 1 as the change reads at `digits` decimals (what a colour should follow)."""
    shown = round(float(value), digits)
    return (shown > 0) - (shown < 0)


def points(value: float) -> str:
    """A change in percentage points: '+1 point', '-3 points', '0 points'."""
    whole = round(float(value))
    if whole == 0:
        return "0 points"
    return f"{whole:+d} point{'' if abs(whole) == 1 else 's'}"


def program_label(code: str) -> str:
    """A program type as users read it ('mens-shed' -> "Men's shed"); an unknown code as is."""
    return PROGRAM_LABELS.get(code, code)
