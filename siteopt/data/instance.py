"""The validated instance: metadata plus one typed DataFrame per table."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from siteopt.io.schema import Metadata


@dataclass(frozen=True)
class Instance:
    """A validated instance: metadata plus one typed DataFrame per table.

    Tables keep file order; optional tables that are absent are empty with all columns.
    """

    path: Path | None  # the folder it was read from, absolute (None: made in code)
    meta: Metadata
    tables: dict[str, pd.DataFrame]
    fingerprint: str
    latency: pd.DataFrame
    warnings: tuple[str, ...] = field(default=())
    #: seconds spent making it: read (parse + per-table checks), checks (cross-table), graph
    #: (fiber graph, latency matrix, reachability)
    timings: dict[str, float] = field(default_factory=dict, compare=False)
    #: the overrides applied to the loaded instance, in order (key, value as given), so a
    #: result records them and `siteopt verify` can rebuild the same instance
    overrides: tuple[tuple[str, object], ...] = field(default=())
    #: the `cooling`/`zones`/`classes` tables given with a header and no rows, which took
    #: the defaults (`siteopt.data.defaults.DEFAULTED`; each is also a warning)
    emptied: tuple[str, ...] = field(default=())

    @property
    def years(self) -> list[int]:
        """The horizon's years in order."""
        return list(range(self.meta.horizon.first_year, self.meta.horizon.last_year + 1))

    def table(self, name: str) -> pd.DataFrame:
        """The typed table called `name` (see `siteopt.io.schema`)."""
        return self.tables[name]
