"""Every CSV the platform writes neutralises spreadsheet formulas in its text cells.

OWASP's advice on CSV injection: a cell that starts with `=`, `+`, `-`, `@`, a tab or a
carriage return is read by spreadsheet programs as a formula (`=HYPERLINK(...)` in a category
label typed by a coordinator), so such a text cell is written with a single quote in front.
Only text is touched - labels, names, reasons - never a number: a score of -3 is written as
the int it is, and stays a number. The importers strip the quote again (`unquote_cell`), so an
export read back gives the same labels.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(row: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in row]


def unquote_cell(text: str) -> str:
    """Undo safe_cell on a cell read from one of our CSVs (a quote before a formula start)."""
    if len(text) > 1 and text[0] == "'" and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


def pg_safe(expression: str) -> str:
    """safe_cell as a PostgreSQL expression, for text columns of a COPY ... CSV."""
    starts = ", ".join(
        "E'\\t'" if c == "\t" else "E'\\r'" if c == "\r" else f"'{c}'" for c in FORMULA_STARTS
    )
    quote = "''''"  # SQL for a one-character string holding a single quote
    # Parenthesised: `'' || d.categories ->> r.value` would apply || before ->>.
    expression = f"({expression})"
    return (
        f"(CASE WHEN left({expression}, 1) IN ({starts}) "
        f"THEN {quote} || {expression} ELSE {expression} END)"
    )
