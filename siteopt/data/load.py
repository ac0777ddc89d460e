"""Making a validated `Instance`: from an instance folder or from tables made in code.

Every way an instance is made goes through the same rules: an instance folder
(`load_instance`), DataFrames (`from_tables`), overrides (`siteopt.data.overrides`), and
the generator and the OR-Library importers (which write a folder that `load_instance`
reads). The per-table rules (columns, cells, keys: `siteopt.io.read.check_table`) see the
same text cells a file would hold, then the cross-table rules of `siteopt.data.validate`
apply.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd
from pydantic import ValidationError

from siteopt.data.defaults import DEFAULTED, apply_defaults, empty_table_warning
from siteopt.data.instance import Instance
from siteopt.data.validate import cross_check
from siteopt.errors import InputError, Problem
from siteopt.io.read import (
    check_table,
    empty_table,
    folder_fingerprint,
    read_metadata,
    read_tables,
    text_cells,
)
from siteopt.io.schema import METADATA_FILE, TABLES, TABLES_BY_NAME, Metadata


def from_tables(meta: Metadata | Mapping[str, object], tables: Mapping[str, pd.DataFrame],
                path: Path | None = None, fingerprint: str = "") -> Instance:
    """Build an Instance from DataFrames (e.g. made in a notebook), validated like a folder.

    `meta` is a `Metadata` or the dict `instance.toml` would hold. Every table goes through
    the reader's per-table rules as if written to its file (types, ranges, NaN in a required
    column, duplicate keys, unknown columns; column order does not matter), then the
    cross-table rules. A problem names the table's file, the row's line (the row's position
    + 2: its line in the written file, the header being line 1; rows taken from a loaded
    instance keep their file line) and the column. Missing optional tables are empty.
    Raises `InputError` listing every problem.
    """
    if not isinstance(meta, Metadata):
        try:
            meta = Metadata.model_validate(dict(meta))
        except ValidationError as exc:
            raise InputError([
                Problem(METADATA_FILE, err["msg"], column=".".join(str(x) for x in err["loc"]),
                        found=None if err["type"] == "missing" else str(err.get("input")))
                for err in exc.errors()]) from exc
    unknown = sorted(set(tables) - set(TABLES_BY_NAME))
    if unknown:
        raise InputError(Problem("tables", "table names among " + ", ".join(TABLES_BY_NAME),
                                 found=", ".join(unknown)))
    return make_instance(meta, dict(tables), path=path, fingerprint=fingerprint)


def make_instance(meta: Metadata, tables: dict[str, pd.DataFrame], path: Path | None = None,
                  fingerprint: str = "", checked: Iterable[str] = (),
                  overrides: tuple[tuple[str, object], ...] = (),
                  emptied: Iterable[str] = ()) -> Instance:
    """The one constructor of a validated Instance (`from_tables` and `load_instance` call it).

    `checked` names tables that already passed `check_table` unchanged (the reader's output,
    or the tables an override left alone): they are not typed again, which keeps loading a
    large folder as fast as reading it. Every other table is checked here. `emptied` names
    tables an earlier load found empty and gave their defaults (kept by overrides, whose
    tables hold those defaults by now): they are warned about again.
    """
    done = set(checked)
    problems: list[Problem] = []
    full: dict[str, pd.DataFrame] = {}
    for t in TABLES:
        frame = tables.get(t.name)
        if frame is None:
            if t.required:
                problems.append(Problem(t.file, f"a {t.name} table", found="none given"))
            full[t.name] = empty_table(t)
        elif t.name in done:
            full[t.name] = frame
        else:
            full[t.name] = check_table(t, text_cells(frame), meta, problems)
    # a header without rows takes the defaults like an absent file; unlike an absent one it
    # may be a mistake (rows lost in an export), so the planner is told
    given_empty = {t for t in DEFAULTED if tables.get(t) is not None and full[t].empty}
    given_empty |= set(emptied)
    warned = tuple(t for t in DEFAULTED if t in given_empty)
    if not problems:  # absent data-center tables: the documented defaults
        full = apply_defaults(meta, full, problems)
    if problems:
        raise InputError(problems)
    if not fingerprint:
        digest = hashlib.sha256(meta.model_dump_json().encode())
        for name in sorted(full):
            digest.update(pd.util.hash_pandas_object(full[name].astype(str), index=False)
                          .to_numpy().tobytes())
        fingerprint = digest.hexdigest()[:16]
    timings: dict[str, float] = {}
    warnings, latency = cross_check(meta, full, timings)
    warnings[:0] = [empty_table_warning(t) for t in warned]
    return Instance(path=path, meta=meta, tables=full, fingerprint=fingerprint,
                    latency=latency, warnings=tuple(warnings), timings=timings,
                    overrides=overrides, emptied=warned)


def load_instance(path: str | Path | None = None) -> Instance:
    """Read and validate an instance folder; with no path, the bundled Vietnam instance.

    Raises `InputError` naming file, line, column and what was expected for every problem.
    """
    if path is None:
        from siteopt.io.bundled import default_instance_path

        folder = default_instance_path()
    else:
        folder = Path(path)
    if not folder.is_dir():
        raise InputError(Problem(str(folder), "an instance folder (CSV tables + instance.toml)",
                                 found="no such folder"))
    start = time.perf_counter()
    meta = read_metadata(folder)
    tables = read_tables(folder, meta)
    names = [METADATA_FILE] + [t.file for t in TABLES]
    read = time.perf_counter() - start
    # absolute: the instance travels to Dask workers whose working folder is another one,
    # and a result records where its instance came from (`instance_path`)
    inst = make_instance(meta, tables, path=folder.resolve(),
                         fingerprint=folder_fingerprint(folder, names), checked=tables)
    inst.timings["read"] = read
    return inst
