"""Documented defaults that make the data-center tables optional (a pure location problem).

A location analyst's instance needs only `instance.toml`, `sites.csv`, `regions.csv` and
`demand.csv` (plus `latency.csv` or a fiber graph for latencies, and `service_costs.csv` for
distances as costs). Each data-center table that is absent (or has no rows) gets a default
that changes nothing a location model asks about:

* `cooling.csv`: one technology `default`, PUE 1, capex_factor 1, buildable;
* `zones.csv`: one zone `default`; every site with an empty `zone` is in it;
* `headroom.csv`: never binding: every zone and year gets the facility MW of every phase
  and existing capacity at the largest PUE, plus 1;
* `classes.csv`: one class `default`, hosted by every cooling; demand rows with an empty
  `class` are of it;
* `phases.csv`: each site without existing capacity gets one phase `P1` with `it_mw` = the
  site's `max_it_mw` if set, else the largest total demand of any year (uncapacitated),
  capex 0, lead 0, any cooling;
* `links.csv`: no fiber graph; latencies come from `latency.csv` only.

A table file with a header but no rows is the same as an absent one (the defaults apply, as
`docs/instance-format.md` says), but for `cooling`, `zones` and `classes` it is warned about
(`empty_table_warning`: rows lost in an export would otherwise pass unnoticed); any row that
names a cooling, zone or class then has to name the default's id, else it is the usual
unknown-reference error. A table with rows is used as it is: then an empty `sites.zone` or
`demand.class` is an error (the id must name a row of the given table).
"""

from __future__ import annotations

import pandas as pd

from siteopt.errors import Problem
from siteopt.io.frames import row_line
from siteopt.io.read import check_table, text_cells
from siteopt.io.schema import TABLES_BY_NAME, Metadata

#: Id of every default row (cooling, zone, class).
DEFAULT_ID = "default"
#: The tables whose header-only file is warned about (`empty_table_warning`), with the
#: default that replaces it. An absent file is the documented way to go without one.
DEFAULTED: dict[str, str] = {
    "cooling": f"one technology '{DEFAULT_ID}' of PUE 1, capex_factor 1, buildable",
    "zones": f"one zone '{DEFAULT_ID}' holding every site with an empty zone",
    "classes": f"one class '{DEFAULT_ID}' hosted by every cooling, for demand rows with an "
               "empty class",
}
#: Phase id of a default phase.
DEFAULT_PHASE = "P1"


def _typed(name: str, rows: list[dict[str, object]], meta: Metadata,
           problems: list[Problem]) -> pd.DataFrame:
    table = TABLES_BY_NAME[name]
    frame = pd.DataFrame(rows, columns=[c.name for c in table.columns
                                        if any(c.name in r for r in rows)] or None)
    return check_table(table, text_cells(frame), meta, problems)


def empty_table_warning(name: str) -> str:
    """The warning for a `DEFAULTED` table given with a header and no rows."""
    return (f"{name}.csv has a header but no rows: the default applies ({DEFAULTED[name]}); "
            "add its rows, or delete the file to use the default without this warning")


def apply_defaults(meta: Metadata, tables: dict[str, pd.DataFrame],
                   problems: list[Problem]) -> dict[str, pd.DataFrame]:
    """`tables` with the defaults above filled in for absent or empty data-center tables."""
    out = dict(tables)
    sites, demand = out["sites"], out["demand"]
    if out["cooling"].empty:
        out["cooling"] = _typed("cooling", [{"cooling": DEFAULT_ID, "pue": 1.0}], meta,
                                problems)
    if out["zones"].empty:
        out["zones"] = _typed("zones", [{"zone": DEFAULT_ID}], meta, problems)
        sites = sites.copy()
        sites.loc[sites["zone"] == "", "zone"] = DEFAULT_ID
    if out["classes"].empty:
        out["classes"] = _typed("classes", [{"class": DEFAULT_ID}], meta, problems)
        demand = demand.copy()
        demand.loc[demand["class"] == "", "class"] = DEFAULT_ID
    for name, frame, column in (("sites", sites, "zone"), ("demand", demand, "class")):
        for i, value in enumerate(frame[column]):
            if value == "":
                problems.append(Problem(
                    f"{name}.csv", f"a {column} (it may be empty only when "
                    f"{'zones' if column == 'zone' else 'classes'}.csv is absent or has no "
                    "rows)",
                    row=row_line(frame, i), column=column, found="empty"))
    out["sites"], out["demand"] = sites, demand
    if out["phases"].empty:
        peak = demand.groupby("year")["it_mw"].sum().max() if len(demand) else 0.0
        rows = [{"site": r.site, "phase": DEFAULT_PHASE,
                 "it_mw": float(peak) if pd.isna(r.max_it_mw) else float(r.max_it_mw),
                 "capex_usd_m": 0.0}
                for r in sites.itertuples(index=False) if not r.existing_it_mw > 0]
        if rows:
            out["phases"] = _typed("phases", rows, meta, problems)
    if out["headroom"].empty:
        pue = float(out["cooling"]["pue"].max())
        total = float(out["phases"]["it_mw"].sum() + sites["existing_it_mw"].sum())
        years = range(meta.horizon.first_year, meta.horizon.last_year + 1)
        headroom = _typed("headroom", [{"zone": z, "year": y, "headroom_mw": 0.0}
                                       for z in out["zones"]["zone"] for y in years],
                          meta, problems)
        # set after typing: many uncapacitated sites may sum past MAX_MAGNITUDE, which
        # bounds what an instance states, not this derived never-binding value
        headroom["headroom_mw"] = round(total * pue + 1.0, 6)
        out["headroom"] = headroom
    return out
