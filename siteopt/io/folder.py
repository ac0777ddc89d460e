"""Writing an instance folder (`instance.toml` plus one CSV per table), atomically."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import tomli_w

from siteopt.io.schema import METADATA_FILE, TABLES_BY_NAME
from siteopt.io.write import INSTANCE_FOLDER, atomic_dir


def write_instance(out: Path, meta: Mapping[str, object],
                   tables: Mapping[str, pd.DataFrame], readme: str | None = None) -> Path:
    """Write `meta` and `tables` as an instance folder that appears complete or not at all.

    Floats are written with Python's shortest round-trip repr, so a benchmark's numbers are
    read back bit for bit. Tables are written in schema order; unknown names are an error.
    `readme`, if given, becomes the folder's README.md (where an instance says where its
    numbers come from), written inside the same atomic step. An existing `out` is replaced
    only if it is an instance folder or empty (InputError otherwise: a mistyped path must
    not delete unrelated files).
    """
    unknown = sorted(set(tables) - set(TABLES_BY_NAME))
    if unknown:
        raise ValueError(f"not instance tables: {unknown}")
    with atomic_dir(Path(out), INSTANCE_FOLDER) as tmp:
        (tmp / METADATA_FILE).write_text(tomli_w.dumps(dict(meta)), encoding="utf-8")
        if readme is not None:
            (tmp / "README.md").write_text(readme, encoding="utf-8")
        for name, frame in tables.items():
            frame.to_csv(tmp / TABLES_BY_NAME[name].file, index=False, lineterminator="\n")
    return Path(out)
