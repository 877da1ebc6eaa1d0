"""CSV cells a spreadsheet will not run: text starting with = + - @ (or a tab or carriage
return) is a formula to Excel and LibreOffice, so account names from the CRM such as
``=HYPERLINK(...)`` are prefixed with an apostrophe (OWASP's CSV-injection advice)."""

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value``, made inert if it is text a spreadsheet would evaluate; "" for None."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(values: Any) -> list[Any]:
    return [safe_cell(value) for value in values]
