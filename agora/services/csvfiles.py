"""The one place that writes CSV: every cell is neutralised so a spreadsheet never runs it.

Participants control much of what Agora exports (views, names, appeal statements, notes). A cell
a spreadsheet would read as a formula — one starting with ``=``, ``+``, ``-`` or ``@``, with a
tab or a carriage return, or with one of these after leading spaces or line breaks, or with a
full-width ``＝ ＋ － ＠`` that some spreadsheets fold to ASCII — gets a leading apostrophe, the
spreadsheets' own mark for "this is text" (OWASP, "CSV Injection"). Numbers stay numbers; only
text is touched. ``restore_cell`` undoes it where Agora reads its own exports back.
"""

import csv
from _csv import Writer  # the type csv.writer returns
from collections.abc import Iterable, Sequence
from typing import IO, Any

TRIGGERS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
_LEADING_BLANKS = " \n\u00a0\u3000"


def safe_cell(value: object) -> object:
    """``value`` as a spreadsheet can only read it as text (a string that could start a formula
    gets a leading apostrophe); anything else unchanged. A carriage return inside a cell is
    written as a line feed: Python's writer does not quote a bare CR when rows end in LF, and a
    spreadsheet starts a new row there (the rest of the cell would be read unneutralised)."""
    if not isinstance(value, str) or not value:
        return value
    if "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    if value[0] in TRIGGERS or value.lstrip(_LEADING_BLANKS)[:1] in TRIGGERS:
        return "'" + value
    return value


def restore_cell(value: str) -> str:
    """The text ``safe_cell`` neutralised, as it was (a cell Agora did not touch is unchanged;
    carriage returns stay line feeds)."""
    if value.startswith("'") and safe_cell(value[1:]) == value:
        return value[1:]
    return value


class _SafeWriter:
    def __init__(self, writer: Writer):
        self._writer = writer

    def writerow(self, row: Iterable[object]) -> object:
        return self._writer.writerow([safe_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


class _SafeDictWriter:
    def __init__(self, writer: "csv.DictWriter[str]"):  # generic for the checker only (Python 3.11)
        self._writer = writer

    def writeheader(self) -> object:
        return self._writer.writeheader()

    def writerow(self, row: dict[str, object]) -> object:
        return self._writer.writerow({key: safe_cell(value) for key, value in row.items()})

    def writerows(self, rows: Iterable[dict[str, object]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(handle: IO[str], **options: Any) -> _SafeWriter:  # options: csv.writer's
    """``csv.writer`` whose cells are neutralised."""
    return _SafeWriter(csv.writer(handle, **options))


def dict_writer(handle: IO[str], fieldnames: Sequence[str], **options: Any) -> _SafeDictWriter:
    """``csv.DictWriter`` whose cells are neutralised."""
    return _SafeDictWriter(csv.DictWriter(handle, fieldnames=fieldnames, **options))
