"""Reading input files as UTF-8 text, and locating a byte that is not UTF-8.

Every input file (CSV tables, `instance.toml`, scenario and sweep files) must be UTF-8.
A spreadsheet saved as Latin-1 or Windows-1252 (Excel's "CSV" on many systems) holds a
single byte for an accented letter such as 'é' (0xe9), which is not UTF-8: Python's
message gives only a byte offset, so the problem here names the line and column an editor
shows instead.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from siteopt.errors import InputError, Problem

_BOM = b"\xef\xbb\xbf"


def read_utf8(path: Path, file: str, table: bool = False) -> str:
    """The text of `path` (UTF-8, an optional byte order mark dropped).

    A byte that is not UTF-8 is an InputError naming `file`, the line and the column (for a
    CSV `table`, the header's column the byte is in, and its character position).
    """
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(utf8_problem(file, path.read_bytes(), table)) from exc


def utf8_problem(file: str, data: bytes, table: bool = False) -> Problem:
    """Where the first byte of `data` that is not UTF-8 is, as an input problem.

    The line is counted as an editor counts it (the header of a table is line 1); the column
    is the character position in that line, and for a CSV `table` also the header's column
    the byte falls in. `data` must hold a byte that does not decode.
    """
    if data.startswith(_BOM):
        data = data[len(_BOM):]
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        start, end = exc.start, exc.end
    else:  # the file changed since it failed to decode
        return Problem(file, "UTF-8 text", found="a byte that is not UTF-8")
    line = data.count(b"\n", 0, start) + 1
    line_start = data.rfind(b"\n", 0, start) + 1
    character = len(data[line_start:start].decode("utf-8", errors="replace")) + 1
    column = _table_column(data[:start].decode("utf-8", errors="replace")) if table else None
    latin = data[start:end].decode("cp1252", errors="replace")
    return Problem(file, "UTF-8 text (save the file as UTF-8; Latin-1 and Windows-1252 "
                   "store accented letters as bytes that are not UTF-8)", row=line,
                   column=column,
                   found=f"byte 0x{data[start]:02x} ('{latin}' in Latin-1) at character "
                   f"{character} of the line")


def _table_column(prefix: str) -> str | None:
    """The header's name of the field that `prefix` (a CSV file's text) ends inside, if any.

    None when the prefix ends in the header itself or beyond the header's fields.
    """
    try:  # "x" stands for the bad byte, so a prefix that ends a line still opens a field
        records = list(csv.reader(io.StringIO(prefix + "x", newline=""), skipinitialspace=True))
    except csv.Error:
        return None
    if len(records) < 2:
        return None
    names, index = records[0], len(records[-1]) - 1
    return names[index].strip() if index < len(names) else None
