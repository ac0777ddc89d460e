"""Making a validated `Instance`: from an instance folder or from typed tables.

Both paths end in the same cross-table rules (`siteopt.data.validate`).
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pandas as pd

from siteopt.data.instance import Instance
from siteopt.data.validate import cross_check
from siteopt.errors import InputError, Problem
from siteopt.io.frames import LineNumbers
from siteopt.io.read import empty_table, folder_fingerprint, read_metadata, read_tables
from siteopt.io.schema import METADATA_FILE, TABLES, TABLES_BY_NAME, Metadata


def from_tables(meta: Metadata, tables: dict[str, pd.DataFrame], path: Path | None = None,
                fingerprint: str = "") -> Instance:
    """Build an Instance from typed tables (e.g. made in a notebook) and cross-check them.

    Missing optional tables are added empty; the cross-table rules of `siteopt.data.validate`
    apply exactly as for a folder.
    """
    full = {}
    for t in TABLES:
        frame = tables.get(t.name)
        if frame is None:
            frame = empty_table(t)
        elif not isinstance(frame.index, pd.RangeIndex) or frame.index.start != 0:
            lines = frame.attrs.get("line")
            frame = frame.reset_index(drop=True)  # positional access throughout
            if lines:
                frame.attrs["line"] = LineNumbers(lines)
        frame.attrs.setdefault("line", LineNumbers(range(2, len(frame) + 2)))
        full[t.name] = frame
    for name, frame in full.items():
        missing = [c.name for c in TABLES_BY_NAME[name].columns if c.name not in frame.columns]
        if missing:
            raise InputError(Problem(TABLES_BY_NAME[name].file,
                                     f"the columns {', '.join(missing)}", row=1,
                                     found="a table without them"))
    if not fingerprint:
        digest = hashlib.sha256(meta.model_dump_json().encode())
        for name in sorted(full):
            digest.update(pd.util.hash_pandas_object(full[name].astype(str), index=False)
                          .to_numpy().tobytes())
        fingerprint = digest.hexdigest()[:16]
    timings: dict[str, float] = {}
    warnings, latency = cross_check(meta, full, timings)
    return Instance(path=path, meta=meta, tables=full, fingerprint=fingerprint,
                    latency=latency, warnings=tuple(warnings), timings=timings)


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
    inst = from_tables(meta, tables, path=folder, fingerprint=folder_fingerprint(folder, names))
    inst.timings["read"] = read
    return inst
