"""Cross-table checks of the location-analyst settings (issue 16).

p-dispersion distances; earliest online years against committed years.

Registered in `siteopt.data.validate.CHECKS`; messages follow the same file/row/column form.
"""

from __future__ import annotations

import pandas as pd

from siteopt.data.separation import missing_distances
from siteopt.errors import Problem
from siteopt.io.frames import row_line
from siteopt.io.schema import Metadata

#: How many examples a message lists before "and N more".
EXAMPLES = 5


def examples(items: list[str]) -> str:
    """The first few items, comma-separated, with the count of the rest."""
    head = ", ".join(items[:EXAMPLES])
    return head if len(items) <= EXAMPLES else f"{head} and {len(items) - EXAMPLES} more"


def check_catalog(meta: Metadata, tables: dict[str, pd.DataFrame], problems: list[Problem],
                  warnings: list[str]) -> None:
    """Settings of the classic catalogue that the tables must support.

    * min_separation_km needs a distance for every pair of sites (site_distances.csv or
      lat/lon of both);
    * a committed phase cannot come online before its own earliest_online_year.
    """
    if meta.siting.objective == "min_separation_km":
        missing = missing_distances(tables)
        if missing:
            problems.append(Problem(
                "sites.csv", "lat and lon for every site, or a site_distances.csv row for "
                "every pair of sites without them (siting.objective min_separation_km)",
                column="lat", found=f"{len(missing)} pairs without a distance: "
                + examples([f"{a}-{b}" for a, b in missing])))
    phases = tables["phases"]
    both = phases["committed_year"].notna() & phases["earliest_online_year"].notna()
    for i in phases.index[both]:
        if int(phases.at[i, "committed_year"]) < int(phases.at[i, "earliest_online_year"]):
            problems.append(Problem(
                "phases.csv", "a committed_year no earlier than the phase's "
                "earliest_online_year", row=row_line(phases, int(i)), column="committed_year",
                found=f"{int(phases.at[i, 'committed_year'])} < "
                f"{int(phases.at[i, 'earliest_online_year'])}"))
