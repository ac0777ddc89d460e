"""Reading an instance folder (CSV tables + `instance.toml`) into typed tables.

Every problem found is reported with its file, line and column and what was expected; all
problems of a folder are collected before failing, so one run shows everything to fix.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import itertools
import math
import re
import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
from pydantic import ValidationError

from siteopt.errors import InputError, Problem, did_you_mean
from siteopt.io.frames import LineNumbers
from siteopt.io.schema import (
    BOOL_EXPECTED,
    BOOL_WORDS,
    MAX_MAGNITUDE,
    METADATA_FILE,
    PROVENANCE_COLUMNS,
    TABLES,
    Column,
    Metadata,
    Table,
)
from siteopt.io.text import read_utf8
from siteopt.io.tomlfile import read_toml, validation_problems

#: Tables that must have at least one row. `cooling`, `zones` and `classes` may have none:
#: like an absent file, an empty one takes the documented default (`siteopt.data.defaults`).
NONEMPTY = ("sites", "regions")

#: Extra columns any table may carry for provenance; they are kept but never used
#: (`source_tag` is checked by siteopt.data.validate.check_source_tags).
NOTE_COLUMNS = PROVENANCE_COLUMNS




def folder_fingerprint(folder: Path, names: list[str]) -> str:
    """A short digest of the named files' bytes: the identity of an instance folder."""
    digest = hashlib.sha256()
    for name in sorted(names):
        path = folder / name
        if path.is_file():
            digest.update(name.encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()[:16]


def read_metadata(folder: Path) -> Metadata:
    """Read and validate `instance.toml`."""
    path = folder / METADATA_FILE
    if not path.is_file():
        what = "no such file" if folder.is_dir() else "no such folder"
        raise InputError(Problem(METADATA_FILE, "the instance metadata file (TOML)",
                                 found=f"{what}: {path}"))
    try:
        text, raw = read_toml(path, METADATA_FILE)
    except OSError as exc:  # e.g. no permission to read it
        raise InputError(Problem(METADATA_FILE, "a readable file",
                                 found=exc.strerror or type(exc).__name__)) from exc
    try:
        return Metadata.model_validate(raw)
    except ValidationError as exc:
        raise InputError(validation_problems(exc, Metadata, METADATA_FILE, text)) from exc


#: Fed to the csv reader after the text's last line: a record of two fields of its own when
#: every quote is closed, the tail of the open field (comma and all) when one is not
#: (`scan_csv`); two fields, so that even an open quote ending the text is told apart. No
#: quote or line break, so it reads back as itself; U+FDD0 is a Unicode noncharacter,
#: which no table holds.
_END = ["\ufdd0siteopt-end-of-text", "\ufdd0"]
_END_LINE = ",".join(_END)


class CsvLayout(NamedTuple):
    """Where the records of a CSV text lie, as an editor shows them (`scan_csv`)."""

    #: the header's names (first record), [] for a blank first line or an empty text
    names: list[str]
    #: the line each data record starts on (a quoted field may span lines)
    starts: list[int]
    #: (line, number of fields) of the first record whose non-empty fields go beyond the
    #: header's count, or None
    extra: tuple[int, int] | None
    #: the line on which a quoted field opens that no quote closes, or None
    unclosed: int | None


def scan_csv(text: str) -> CsvLayout:
    """Read `text` once with the csv module (CSV's quoting rules) and say where things lie.

    pandas names a record by its index, not its line, and drops fields beyond the header
    with only a warning; a quoted field may span several lines (a `note` with line breaks).
    So each record's physical line is counted here as the csv module reads it, and so is
    the line of a quote left open: the reader is fed `_END_LINE` after the text, which closes
    the last record if every quote is closed and is swallowed by the open field if one is
    not. The open field then holds the rest of the text after its opening quote, so its
    opening line is the text's last line less the line breaks in it (a `""` inside quotes
    is a literal quote, as in pandas).
    """
    reader = csv.reader(itertools.chain(io.StringIO(text, newline=""), [_END_LINE]),
                        skipinitialspace=True)
    names: list[str] | None = None
    starts: list[int] = []
    extra = None
    unclosed = None
    end = 0  # last line of the previous record
    for record in reader:
        if record == _END:
            break  # every quote was closed
        if record and record[-1].endswith(_END_LINE):  # a quoted field ran to the end
            record[-1] = record[-1][: -len(_END_LINE)]
            unclosed = _line_count(text) - max(_line_count(record[-1]), 1) + 1
        if names is None:
            names = record
        else:
            starts.append(end + 1)
            if (extra is None and len(record) > len(names)
                    and any(f.strip() for f in record[len(names):])):
                extra = (starts[-1], len(record))
        end = reader.line_num
    return CsvLayout(names or [], starts, extra, unclosed)


def _line_count(text: str) -> int:
    """Lines of `text` as the csv reader counts them (LF, CRLF or a lone CR ends one)."""
    return len(io.StringIO(text, newline="").readlines())


def csv_problem(file: str, text: str, exc: Exception) -> Problem:
    """The problem a CSV parser's error `exc` on `text` stands for, located by line.

    An unclosed quote is named at the line its field starts on (pandas names a record index
    counted from 0 after the header, not a line); other errors keep the parser's line.
    """
    opened = scan_csv(text).unclosed
    if opened is not None:
        return Problem(file, 'a closing quote (") for the quoted field that starts on this '
                       "line", row=opened, found="none up to the end of the file")
    message = str(exc).strip().splitlines()[-1]
    line = re.search(r"line (\d+)", message)
    return Problem(file, "comma-separated text with the header's number of fields on every "
                   "line", row=int(line.group(1)) if line else None, found=message)


def _read_csv(folder: Path, table: Table, problems: list[Problem]) -> pd.DataFrame | None:
    path = folder / table.file
    if path.exists() and not path.is_file():
        problems.append(Problem(table.file, f"a file with the {table.name} table",
                                found="a folder of that name"))
        return None
    if not path.is_file():
        if table.required:
            problems.append(Problem(table.file, f"a file with the {table.name} table",
                                    found="no such file"))
        return None
    try:
        text = read_utf8(path, table.file, table=True)
        names, starts, extra, _unclosed = scan_csv(text)  # pandas fails on the unclosed
        if not names and text.strip():  # rows under a blank first line: no header at all
            problems.append(Problem(table.file, "the header (column names) first",
                                    row=1, found="a blank line"))
            return None
        if extra is not None:
            line, n = extra
            problems.append(Problem(table.file, f"comma-separated text with at most the header's "
                                    f"{len(names)} fields on every line (is a value missing "
                                    "its quotes?)", row=line,
                                    found=f"{n} fields"))
            return None
        with warnings.catch_warnings():  # trailing empty fields: pandas warns, nothing is lost
            warnings.simplefilter("ignore", pd.errors.ParserWarning)
            frame = pd.read_csv(io.StringIO(text), dtype=object, keep_default_na=False,
                                na_filter=False, skipinitialspace=True, index_col=False,
                                skip_blank_lines=False)
    except pd.errors.EmptyDataError:
        problems.append(Problem(table.file, "a header line with column names", row=1,
                                found="an empty file"))
        return None
    except OSError as exc:  # e.g. no permission to read it
        problems.append(Problem(table.file, "a readable file",
                                found=exc.strerror or type(exc).__name__))
        return None
    except InputError as exc:  # a byte that is not UTF-8
        problems += exc.problems
        return None
    except (pd.errors.ParserError, csv.Error) as exc:
        problems.append(csv_problem(table.file, text, exc))
        return None
    if len(names) == len(frame.columns):  # pandas renames a repeated name 'x' to 'x.1'
        frame.columns = [str(c).strip() for c in names]
    else:
        frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.map(str.strip).astype(object)  # plain str cells (see records_frame)
    # keep each row's line number in the file, then drop blank lines; the csv module and
    # pandas read the same records (blank lines kept by both), so they pair one to one
    lines = starts if len(starts) == len(frame) else [i + 2 for i in range(len(frame))]
    keep = (frame != "").any(axis=1).to_numpy() if len(frame.columns) else []
    frame = frame.loc[keep].reset_index(drop=True)
    frame.attrs["line"] = LineNumbers(n for n, k in zip(lines, keep, strict=True) if k)
    return frame


def _check_columns(table: Table, frame: pd.DataFrame, problems: list[Problem]) -> bool:
    known = {c.name for c in table.columns}
    ok = True
    seen: set[str] = set()
    for name in frame.columns:
        if name in seen:
            problems.append(Problem(table.file, "each column name once", row=1, column=name,
                                    found="a repeated column"))
            ok = False
        seen.add(name)
        if name not in known and name not in NOTE_COLUMNS:
            choices = sorted(known | set(NOTE_COLUMNS))
            hint = did_you_mean(str(name), choices) + ": " + ", ".join(choices)
            problems.append(Problem(table.file, f"one of the columns{hint}", row=1,
                                    column=name, found="an unknown column"))
            ok = False
    missing = [c.name for c in table.columns if c.required and c.name not in frame.columns]
    for name in missing:
        extra = ""
        if len(frame.columns) == 1 and any(s in frame.columns[0] for s in ";\t|"):
            extra = " (is the file comma-separated?)"
        problems.append(Problem(table.file, f"a column '{name}'{extra}", row=1, column=name,
                                found="no such column"))
    return ok and not missing


def _parse_cell(col: Column, text: str, meta: Metadata) -> tuple[object, str | None]:
    """Convert one cell; return (value, None) or (None, what was expected)."""
    if text == "":
        if col.required:
            return None, f"a value ({_describe(col, meta)})"
        return col.default, None
    kind = col.kind
    try:
        if kind == "id":
            if any(ch in text for ch in "|\n\r\t"):
                return None, "an id without '|', tabs or line breaks"
            value: object = text
        elif kind == "text":
            value = text
        elif kind == "list":
            items = [item.strip() for item in text.split("|")]
            if any(item == "" for item in items):
                return None, "ids separated by '|' with no empty item"
            if len(set(items)) != len(items):
                return None, "ids separated by '|' with no repeats"
            value = tuple(items)
        elif kind == "bool":
            if text.lower() not in BOOL_WORDS:
                return None, _describe(col, meta)
            value = BOOL_WORDS[text.lower()]
        elif kind in ("int", "year"):
            number = float(text)
            if not math.isfinite(number) or number != int(number):
                return None, _describe(col, meta)
            value = int(number)
        else:
            value = float(text)
            if not math.isfinite(value):
                return None, _describe(col, meta)
    except ValueError:
        return None, _describe(col, meta)
    if kind == "year":
        first, last = meta.horizon.first_year, meta.horizon.last_year
        if not first <= int(value) <= last:  # type: ignore[call-overload]
            return None, f"a year within the horizon {first}-{last}"
    if kind in ("int", "float"):
        number = float(value)  # type: ignore[arg-type]
        if col.minimum is not None and number < col.minimum:
            return None, _describe(col, meta)
        if col.maximum is not None and number > col.maximum:
            return None, _describe(col, meta)
        if abs(number) > MAX_MAGNITUDE:
            return None, (f"{_describe(col, meta)} of magnitude at most {MAX_MAGNITUDE:.0e} "
                          "(larger values are beyond siteopt's numeric range: check the unit)")
    return value, None


def _fast_column(col: Column, cells: pd.Series, meta: Metadata) -> list[object] | None:
    """The parsed column when every cell is plainly valid, in one vectorized pass.

    None sends the column through `_parse_cell` cell by cell, which words each problem;
    both paths give the same values for valid input (the per-cell one is the reference).
    """
    if col.kind not in ("id", "int", "year", "float"):
        return None
    empty = (cells == "").to_numpy()
    if empty.any() and (col.required or col.kind == "id"):
        return None
    if col.kind == "id":
        if cells.str.contains(r"[|\n\r\t]", regex=True).any():
            return None
        return list(cells)
    numbers = pd.to_numeric(cells.where(~empty, "nan"), errors="coerce").to_numpy(float)
    given = numbers[~empty]
    if not np.isfinite(given).all():
        return None
    if col.kind in ("int", "year") and (given != np.round(given)).any():
        return None
    low, high = col.minimum, col.maximum
    if col.kind == "year":
        low, high = meta.horizon.first_year, meta.horizon.last_year
    if (low is not None and (given < low).any()) or (high is not None and (given > high).any()):
        return None
    if col.kind != "year" and (np.abs(given) > MAX_MAGNITUDE).any():
        return None
    if col.kind == "float":
        out: list[object] = numbers.tolist()
    else:
        out = [int(v) for v in numbers.tolist()] if not empty.any() else [
            None if e else int(v) for v, e in zip(numbers.tolist(), empty, strict=True)]
    if empty.any():
        for i in np.flatnonzero(empty):
            out[i] = col.default
    return out


def _describe(col: Column, meta: Metadata) -> str:
    if col.kind == "year":
        return (f"a whole year within the horizon {meta.horizon.first_year}-"
                f"{meta.horizon.last_year}")
    noun = {"int": "a whole number", "float": "a finite number", "bool": BOOL_EXPECTED,
            "id": "an id", "text": "text", "list": "ids separated by '|'"}[col.kind]
    if col.minimum is not None and col.maximum is not None:
        noun += f" from {col.minimum:g} to {col.maximum:g}"
    elif col.minimum is not None:
        noun += f" >= {col.minimum:g}"
    if col.unit and col.unit != "-":
        noun += f" ({col.unit})"
    return noun


def _typed(table: Table, frame: pd.DataFrame, meta: Metadata,
           problems: list[Problem]) -> pd.DataFrame:
    data: dict[str, list[object]] = {}
    lines = frame.attrs.get("line") or [i + 2 for i in range(len(frame))]
    for col in table.columns:
        cells = frame[col.name] if col.name in frame.columns else [""] * len(frame)
        fast = _fast_column(col, cells, meta) if isinstance(cells, pd.Series) else None
        if fast is not None:
            data[col.name] = fast
            continue
        values: list[object] = []
        for i, text in enumerate(cells):
            value, expected = _parse_cell(col, text, meta)
            if expected is not None:
                problems.append(Problem(table.file, expected, row=lines[i], column=col.name,
                                        found=text))
            values.append(value)
        data[col.name] = values
    for name in NOTE_COLUMNS:
        if name in frame.columns:
            data[name] = list(frame[name])
    # text-like columns as plain Python objects: the model and checks loop over them, and
    # iterating pandas' Arrow-backed strings costs several times more per cell
    typed = pd.DataFrame({name: pd.Series(values, dtype=object) for name, values in data.items()},
                         index=pd.RangeIndex(len(frame)))
    for col in table.columns:
        if col.kind == "float":
            typed[col.name] = pd.to_numeric(typed[col.name], errors="coerce").astype(float)
        elif col.kind in ("int", "year"):
            typed[col.name] = pd.array(
                [None if v is None or (isinstance(v, float) and math.isnan(v)) else int(v)
                 for v in typed[col.name]], dtype="Int64")
    typed.attrs["line"] = LineNumbers(lines)
    return typed


def _check_keys(table: Table, frame: pd.DataFrame, problems: list[Problem]) -> None:
    if frame.empty:
        return
    keys = list(table.key)
    lines = frame.attrs.get("line") or [i + 2 for i in range(len(frame))]
    first_line: dict[tuple[str, ...], int] = {}
    shown_keys = frame[keys].astype(object).where(frame[keys].notna(), "")
    for i, raw in enumerate(shown_keys.itertuples(index=False, name=None)):
        values = tuple(str(v) for v in raw)
        if values in first_line:
            shown = ", ".join(f"{k}={v}" for k, v in zip(keys, values, strict=True))
            problems.append(Problem(table.file, f"a unique ({', '.join(keys)}); line "
                                    f"{first_line[values]} has the same", row=lines[i],
                                    column=keys[-1], found=shown))
        else:
            first_line[values] = lines[i]


def empty_table(table: Table) -> pd.DataFrame:
    """An empty table with every column of its schema, typed as the reader would type it."""
    frame = pd.DataFrame({c.name: pd.Series([], dtype=object) for c in table.columns})
    for col in table.columns:
        if col.kind == "float":
            frame[col.name] = frame[col.name].astype(float)
        elif col.kind in ("int", "year"):
            frame[col.name] = frame[col.name].astype("Int64")
    frame.attrs["line"] = LineNumbers()
    return frame


def check_table(table: Table, raw: pd.DataFrame, meta: Metadata,
                problems: list[Problem]) -> pd.DataFrame:
    """The per-table rules, on a table of text cells: columns, cells, keys, non-empty.

    The one path every table takes, whether read from a file (`read_tables`) or given as a
    DataFrame (`text_cells`, then this: `siteopt.data.load.from_tables`, overrides).
    Columns are matched by name, so their order does not matter; the typed table has the
    schema's column order. Problems name the file, the row's line (`attrs["line"]`, else its
    position + 2: the line it has once written) and the column.
    """
    if not _check_columns(table, raw, problems):
        return empty_table(table)
    typed = _typed(table, raw, meta, problems)
    _check_keys(table, typed, problems)
    if typed.empty and table.name in NONEMPTY:
        problems.append(Problem(table.file, f"at least one row in the {table.name} table",
                                row=2, found="no rows"))
    return typed


def _cell_text(value: object) -> str:
    """A DataFrame cell as the text a CSV file would hold (the inverse of `_parse_cell`)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float | np.floating):
        return "" if math.isnan(value) else repr(float(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, list | tuple | np.ndarray):
        return "|".join(str(v).strip() for v in value)
    return str(value).strip()


def text_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """A DataFrame made in code as text cells, for `check_table` (the reader's input).

    Each row keeps its line (`attrs["line"]`, if it has one per row) or gets its position
    + 2, the line it would have in the written file.
    """
    text = pd.DataFrame({j: pd.Series([_cell_text(v) for v in frame.iloc[:, j]], dtype=object)
                         for j in range(frame.shape[1])}, index=pd.RangeIndex(len(frame)))
    text.columns = [str(c).strip() for c in frame.columns]  # repeats kept: check_table says so
    lines = frame.attrs.get("line")
    if not lines or len(lines) != len(frame):
        lines = range(2, len(frame) + 2)
    text.attrs["line"] = LineNumbers(lines)
    return text


def _misnamed_tables(folder: Path) -> list[Problem]:
    """CSV files whose name is close to a table's but not it (`budget.csv`, `Upgrades.csv`).

    An optional table under a wrong name would otherwise be read as absent, and the plan
    would silently go without it (no budgets, no upgrades).
    """
    known = {t.file for t in TABLES}
    problems = []
    for path in sorted(folder.glob("*")):
        if path.suffix.lower() != ".csv" or path.name in known:
            continue
        near = difflib.get_close_matches(path.name.lower(), sorted(known), n=1, cutoff=0.8)
        if near:
            problems.append(Problem(path.name, f"a table of the format (did you mean "
                                    f"{near[0]}?)", found="a file no table is read from"))
    return problems


def read_tables(folder: Path, meta: Metadata) -> dict[str, pd.DataFrame]:
    """Read every table file of `folder`, typed per schema; raise InputError listing all problems.

    An optional table without a file is left out (`siteopt.data.load.make_instance` gives it
    its empty table or default), so that a file with a header and no rows stays told apart
    from no file at all.
    """
    problems: list[Problem] = _misnamed_tables(folder)
    tables: dict[str, pd.DataFrame] = {}
    for table in TABLES:
        raw = _read_csv(folder, table, problems)
        if raw is not None:
            tables[table.name] = check_table(table, raw, meta, problems)
    if problems:
        raise InputError(problems)
    return tables


