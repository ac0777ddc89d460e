"""The domain rules every part of siteopt shares: build order, timing, latency targets, hosting.

Model, pre-solve checks and validation read them from here, so one rule has one definition.
The checker keeps its own independent copies on purpose (it must not share code with the model).
"""

from __future__ import annotations

import math

import pandas as pd

from siteopt.io.schema import Metadata

Tables = dict[str, pd.DataFrame]

#: `siting.objective`s that are maximized (the model states them as the minimum of their
#: negation); every other objective is minimized. Here so that the model and the checker,
#: which reads a summary's bound, share the one list.
MAXIMIZED = frozenset({"min_separation_km"})


def lead_years(lead_months: int) -> int:
    """Whole construction years between decision and online year (0: online in decision year)."""
    return math.ceil(lead_months / 12)


def spend_years(online_year: int, lead: int) -> list[int]:
    """Years over which capex is spent, evenly, for something online in `online_year`."""
    return [online_year] if lead == 0 else list(range(online_year - lead, online_year))


def first_online_year(earliest: object, lead: int, first_year: int,
                      earliest_online: object = None) -> int:
    """First year something can be online: decision (not before the horizon) plus lead.

    `earliest_online` (a phase's `earliest_online_year`), if given, is a second lower limit:
    the later of the two wins.
    """
    decision = first_year if pd.isna(earliest) else max(int(earliest), first_year)  # type: ignore[arg-type]
    if earliest_online is None or pd.isna(earliest_online):
        return decision + lead
    return max(decision + lead, int(earliest_online))  # type: ignore[call-overload]


def located_regions(tables: Tables) -> set[str]:
    """Regions with a location: a node in the fiber graph, or rows in latency.csv.

    The others are location-free: any hosting site may serve them and no latency applies.
    """
    regions = tables["regions"]
    located = set(regions.loc[regions["node"] != "", "region"])
    return located | set(tables["latency"]["region"])


def phase_sequences(phases: pd.DataFrame) -> dict[str, list[int]]:
    """Row positions of each site's phases in build order (explicit order, else file order)."""
    out: dict[str, list[int]] = {}
    for i, site in enumerate(phases["site"]):
        out.setdefault(site, []).append(i)
    for site, rows in out.items():
        out[site] = sorted(rows, key=lambda i: (
            phases.at[i, "order"] if not pd.isna(phases.at[i, "order"]) else float("inf"), i))
    return out


def latency_targets(meta: Metadata, tables: Tables) -> dict[tuple[str, str], float]:
    """The round-trip target of every (region with a node, class) that has one.

    A row of latency_targets.csv wins; otherwise `latency.max_rtt_ms` applies, if set.
    """
    lt = tables["latency_targets"]
    targets = {(r, c): float(t) for r, c, t in lt[["region", "class", "max_rtt_ms"]].itertuples(
        index=False)}
    default = meta.latency.max_rtt_ms
    if default is not None:
        located = [r for r in tables["regions"]["region"] if r in located_regions(tables)]
        for region in located:
            for cls in tables["classes"]["class"]:
                targets.setdefault((region, cls), float(default))
    return targets


def hosting_sites(tables: Tables) -> dict[str, set[str]]:
    """For each class, the sites that have (or can build) capacity with an allowed cooling."""
    cooling = tables["cooling"]
    buildable = tuple(cooling.loc[cooling["buildable"].astype(bool), "cooling"])
    site_tech: dict[str, set[str]] = {s: set() for s in tables["sites"]["site"]}
    for site, techs in zip(tables["phases"]["site"], tables["phases"]["cooling"], strict=True):
        site_tech.setdefault(site, set()).update(techs or buildable)
    for row in tables["sites"].itertuples(index=False):
        if row.existing_it_mw > 0:
            site_tech[row.site].add(row.existing_cooling)
    all_tech = tuple(cooling["cooling"])
    return {
        cls: {s for s, techs in site_tech.items() if techs & set(allowed or all_tech)}
        for cls, allowed in zip(tables["classes"]["class"], tables["classes"]["cooling"],
                                strict=True)
    }
