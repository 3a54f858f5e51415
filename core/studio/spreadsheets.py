"""Tables the studio writes for spreadsheet programs, as CSV and XLSX, that no spreadsheet can run.

Every text cell came from a teammate, a catalog or a model, so one that a spreadsheet would read as a formula (it
begins with =, +, -, @, a tab or a line break, after any spaces, in ASCII or full width) is neutralised as
OWASP's CSV-injection page recommends: in CSV a leading apostrophe, in XLSX a string cell with Excel's quote prefix
(the text itself unchanged). Numbers stay numbers, written with the decimal mark of the table's language."""
from __future__ import annotations

import csv
import io
from collections.abc import Sequence

# The list separator spreadsheet programs expect in each interface language: in Brazil and Spain the comma is the
# decimal mark, so Excel splits CSV columns on ";".
CSV_SEPARATORS = {"pt-BR": ";", "es": ";", "en": ","}
DECIMAL_MARKS = {"pt-BR": ",", "es": ",", "en": "."}
FORMULA_STARTS = frozenset("=+-@\t\r\n＝＋－＠")  # OWASP's list, a line feed (XML reads \r as one), full width

Cell = str | int | float | bool | None


def formula_like(text: str) -> bool:
    """Whether a spreadsheet could take this text for a formula (or a DDE call)."""
    stripped = text.lstrip(" \u00a0")
    return bool(text) and (text[0] in FORMULA_STARTS or (bool(stripped) and stripped[0] in FORMULA_STARTS))


def csv_cell(value: Cell, language: str = "pt-BR") -> str:
    """One cell's text in a CSV for language: numbers with its decimal mark, formula-like text behind an
    apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        raise TypeError("word booleans before writing them (yes/no in the table's language)")
    if isinstance(value, (int, float)):
        text = f"{value:g}" if isinstance(value, float) else str(value)
        return text.replace(".", DECIMAL_MARKS.get(language, "."))
    return "'" + value if formula_like(value) else value


def write_csv(headings: Sequence[str], rows: Sequence[Sequence[Cell]], language: str = "pt-BR") -> bytes:
    """A CSV that opens as columns in language's spreadsheets: its separator, a BOM so accents survive, every
    field quoted, no formula."""
    table = io.StringIO()
    writer = csv.writer(table, delimiter=CSV_SEPARATORS.get(language, ","), quoting=csv.QUOTE_ALL)
    writer.writerow([csv_cell(h, language) for h in headings])
    writer.writerows([csv_cell(value, language) for value in row] for row in rows)
    return table.getvalue().encode("utf-8-sig")


def write_xlsx(headings: Sequence[str], rows: Sequence[Sequence[Cell]], sheet: str = "Sheet1") -> bytes:
    """The same table as an XLSX workbook of one sheet: text cells are strings (never formulas), those that look
    like one carry Excel's quote prefix, control characters XML cannot hold become �, numbers are numbers, and the
    headings are bold and frozen."""
    from openpyxl import Workbook  # only where a workbook is written: it is slow to import
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font
    book = Workbook()
    table = book.active
    table.title = sheet[:31]
    for row_number, row in enumerate([list(headings), *rows], start=1):
        for column, value in enumerate(row, start=1):
            cell = table.cell(row=row_number, column=column)
            if isinstance(value, bool):
                raise TypeError("word booleans before writing them (yes/no in the table's language)")
            if isinstance(value, str):  # XML holds no control character but tab and line breaks: shown as �
                cell.value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
                cell.data_type = "s"  # openpyxl would otherwise store text beginning with = as a formula
                cell.quotePrefix = formula_like(value)
            else:
                cell.value = value
            if row_number == 1:
                cell.font = Font(bold=True)
    table.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
