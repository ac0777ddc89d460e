"""Cross-table rules of an instance, each a named check that reports the rows involved.

Per-cell rules (types, ranges, duplicate keys) are applied while reading; these checks need
several tables at once: references between tables, cooling lists, committed phases, the
headroom calendar, and the fiber graph (run before any model is built).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pandas as pd

from siteopt.data.catalog import check_catalog
from siteopt.data.network import instance_graph, latency_table, node_ids, with_given_latency
from siteopt.data.resilience import check_resilience, n1_latency_given
from siteopt.data.rules import hosting_sites, latency_targets, located_regions, phase_sequences
from siteopt.errors import InputError, Problem
from siteopt.io.frames import row_line
from siteopt.io.schema import SOURCE_TAG, TABLES_BY_NAME, Metadata, source_tag_problem

Tables = dict[str, pd.DataFrame]
Check = Callable[[Metadata, Tables, list[Problem], list[str]], None]


def _file(name: str) -> str:
    return TABLES_BY_NAME[name].file


def check_years(meta: Metadata, tables: Tables, problems: list[Problem],
                warnings: list[str]) -> None:
    """Every year-valued cell lies in the horizon (tables built in code skip the reader)."""
    first, last = meta.horizon.first_year, meta.horizon.last_year
    for name, table in TABLES_BY_NAME.items():
        frame = tables[name]
        for col in table.columns:
            if col.kind != "year" or col.name not in frame.columns:
                continue
            for i, value in enumerate(frame[col.name]):
                if not pd.isna(value) and not first <= int(value) <= last:
                    problems.append(Problem(table.file, f"a year within the horizon "
                                            f"{first}-{last}", row=row_line(frame, i),
                                            column=col.name, found=str(value)))


def check_references(meta: Metadata, tables: Tables, problems: list[Problem],
                     warnings: list[str]) -> None:
    """Every id that names a row of another table names one that exists."""
    known = {
        "zones": set(tables["zones"]["zone"]),
        "sites": set(tables["sites"]["site"]),
        "regions": set(tables["regions"]["region"]),
        "classes": set(tables["classes"]["class"]),
        "nodes": node_ids(tables["nodes"], tables["links"]),
    }
    for name, table in TABLES_BY_NAME.items():
        frame = tables[name]
        for column, target in table.references.items():
            if target == "nodes" and name == "links" and tables["nodes"].empty:
                continue
            for i, value in enumerate(frame[column]):
                if value == "" and not table.column(column).required:
                    continue
                if value not in known[target]:
                    problems.append(Problem(table.file, f"an id listed in {_file(target)}"
                                            if target != "nodes" else
                                            "a node of the fiber graph (nodes.csv or a link "
                                            "end in links.csv)", row=row_line(frame, i),
                                            column=column, found=value))


def check_cooling(meta: Metadata, tables: Tables, problems: list[Problem],
                  warnings: list[str]) -> None:
    """Cooling lists name known technologies; phases only buildable ones; existing plant has one."""
    cooling = tables["cooling"]
    known = set(cooling["cooling"])
    buildable = set(cooling.loc[cooling["buildable"].astype(bool), "cooling"])
    if not buildable:
        problems.append(Problem(_file("cooling"), "at least one row with buildable = true"))
    phases = tables["phases"]
    for i, row in enumerate(phases.itertuples(index=False)):
        for tech in row.cooling:
            if tech not in buildable:
                what = "a buildable technology of cooling.csv"
                problems.append(Problem(_file("phases"), what, row=row_line(phases, i),
                                        column="cooling", found=tech))
    classes = tables["classes"]
    for i, row in enumerate(classes.itertuples(index=False)):
        for tech in row.cooling:
            if tech not in known:
                problems.append(Problem(_file("classes"), "a technology of cooling.csv",
                                        row=row_line(classes, i), column="cooling", found=tech))
    sites = tables["sites"]
    for i, row in enumerate(sites.itertuples(index=False)):
        if row.existing_it_mw > 0 and row.existing_cooling not in known:
            problems.append(Problem(_file("sites"), "the cooling technology of the existing "
                                    "capacity (an id of cooling.csv)", row=row_line(sites, i),
                                    column="existing_cooling", found=row.existing_cooling))


def check_phases(meta: Metadata, tables: Tables, problems: list[Problem],
                 warnings: list[str]) -> None:
    """Phase orders are unique per site, and committed phases are consistent with their order."""
    phases = tables["phases"]
    seen: dict[tuple[str, int], int] = {}
    order = phases["order"].copy()
    for i, (site, value) in enumerate(zip(phases["site"], order, strict=True)):
        if pd.isna(value):
            continue
        if (site, int(value)) in seen:
            problems.append(Problem(_file("phases"), f"a build order unique within site {site} "
                                    f"(line {seen[(site, int(value))]} has it too)",
                                    row=row_line(phases, i), column="order", found=str(value)))
        seen[(site, int(value))] = row_line(phases, i)
    for i, row in enumerate(phases.itertuples(index=False)):
        if pd.isna(row.committed_year):
            continue
        if len(row.cooling) != 1:
            problems.append(Problem(_file("phases"), "exactly one cooling technology for a "
                                    "committed phase", row=row_line(phases, i), column="cooling",
                                    found="|".join(row.cooling)))
    for site, group in phase_sequences(phases).items():
        last = None
        for i in group:
            year = phases.at[i, "committed_year"]
            committed = not pd.isna(year)
            if committed and last is not None and (last == "open" or year < last):
                problems.append(Problem(_file("phases"), f"committed phases of site {site} in "
                                        "build order (an earlier phase must be committed no "
                                        "later)", row=row_line(phases, i), column="committed_year",
                                        found=str(year)))
            last = year if committed else "open"


def check_site_capacity(meta: Metadata, tables: Tables, problems: list[Problem],
                        warnings: list[str]) -> None:
    """A site's cap holds its existing capacity and committed phases."""
    committed: dict[str, float] = {}
    phases = tables["phases"]
    for site, mw, year in zip(phases["site"], phases["it_mw"], phases["committed_year"],
                              strict=True):
        if not pd.isna(year):
            committed[site] = committed.get(site, 0.0) + float(mw)
    sites = tables["sites"]
    for i, row in enumerate(sites.itertuples(index=False)):
        if pd.isna(row.max_it_mw):
            continue
        fixed = row.existing_it_mw + committed.get(row.site, 0.0)
        if fixed > row.max_it_mw + 1e-9:
            problems.append(Problem(_file("sites"), f"a cap of at least the existing and "
                                    f"committed capacity ({fixed:g} IT MW)", row=row_line(sites, i),
                                    column="max_it_mw", found=f"{row.max_it_mw:g}"))


def check_headroom(meta: Metadata, tables: Tables, problems: list[Problem],
                   warnings: list[str]) -> None:
    """Every zone has a headroom value for every year of the horizon."""
    head = tables["headroom"]
    years = set(range(meta.horizon.first_year, meta.horizon.last_year + 1))
    have: dict[str, set[int]] = {}
    for zone, year in zip(head["zone"], head["year"], strict=True):
        have.setdefault(zone, set()).add(int(year))
    for zone in tables["zones"]["zone"]:
        missing = sorted(years - have.get(zone, set()))
        if missing:
            shown = ", ".join(str(y) for y in missing[:12]) + (" ..." if len(missing) > 12 else "")
            problems.append(Problem(_file("headroom"), f"a row for zone {zone} in every horizon "
                                    "year", column="year", found=f"none for {shown}"))


def check_budgets(meta: Metadata, tables: Tables, problems: list[Problem],
                  warnings: list[str]) -> None:
    """Budget sponsors are sponsors of some site or upgrade."""
    sponsors = set(tables["sites"]["sponsor"]) | set(tables["upgrades"]["sponsor"])
    budgets = tables["budgets"]
    for i, sponsor in enumerate(budgets["sponsor"]):
        if sponsor and sponsor not in sponsors:
            problems.append(Problem(_file("budgets"), "a sponsor named in sites.csv or "
                                    "upgrades.csv, or empty for all sponsors",
                                    row=row_line(budgets, i), column="sponsor", found=sponsor))


def check_latency_targets(meta: Metadata, tables: Tables, problems: list[Problem],
                          warnings: list[str]) -> None:
    """Latency targets only for regions that have a location."""
    regions = set(tables["regions"]["region"])
    located = located_regions(tables)
    targets = tables["latency_targets"]
    for i, region in enumerate(targets["region"]):
        if region in regions and region not in located:
            problems.append(Problem(_file("latency_targets"), "a region with a node or rows in "
                                    "latency.csv (location-free regions have no latency)",
                                    row=row_line(targets, i), column="region", found=region))


def check_reachability(meta: Metadata, tables: Tables, lat: pd.DataFrame,
                       problems: list[Problem], warnings: list[str]) -> None:
    """Every region with demand is reachable by a site that can host its class.

    Reachable means connected over the fiber graph (latencies `lat`) and, unless unserved
    demand is allowed, within the region's latency target.
    """
    hosts = hosting_sites(tables)
    lt = tables["latency_targets"]
    targets = latency_targets(meta, tables)
    target_line = {(r, c): row_line(lt, i) for i, (r, c) in enumerate(
        zip(lt["region"], lt["class"], strict=True))}
    region_node = dict(zip(tables["regions"]["region"], tables["regions"]["node"], strict=True))
    located = located_regions(tables)
    demand = tables["demand"]
    positive = demand.loc[demand["it_mw"] > 0, ["region", "class"]]
    first_row: dict[tuple[str, str], int] = {}
    for i, key in zip(positive.index, positive.itertuples(index=False, name=None), strict=True):
        first_row.setdefault(key, int(i))
    # (rtt, site) per region, once: a scan of the whole latency table per segment is
    # quadratic on benchmark-sized instances
    by_region: dict[str, list[tuple[float, str]]] = {}
    for site, region, rtt in lat[["site", "region", "rtt_ms"]].itertuples(index=False,
                                                                           name=None):
        by_region.setdefault(region, []).append((float(rtt), site))
    unreachable: list[str] = []  # one warning for the cause, with a count and examples
    for (region, cls), row in first_row.items():
        candidates = hosts.get(cls, set())
        line = row_line(demand, row)
        if not candidates:
            problems.append(Problem(_file("demand"), f"a class some site can host (no phase or "
                                    f"existing capacity has a cooling allowed for {cls})",
                                    row=line, column="class", found=cls))
            continue
        if region not in located:
            continue
        reach = [(rtt, site) for rtt, site in by_region.get(region, ()) if site in candidates]
        if not reach:
            problems.append(Problem(_file("demand"), f"a region connected by fiber to a site "
                                    f"that can host class {cls}", row=line, column="region",
                                    found=f"{region} (node {region_node[region] or 'none'} is "
                                    "cut off and latency.csv lists no such site)"))
            continue
        target = targets.get((region, cls))
        best, site = min(reach)
        if target is not None and best > target + 1e-9:
            text = (f"region {region}, class {cls}: no site within {target:g} ms round trip "
                    f"(nearest: {site} at {best:.2f} ms)")
            if meta.unserved_allowed:
                unreachable.append(text)
            elif (region, cls) in target_line:
                problems.append(Problem(_file("latency_targets"), "a target some site can "
                                        "meet (or unserved demand allowed)",
                                        row=target_line[region, cls], column="max_rtt_ms",
                                        found=text))
            else:
                problems.append(Problem("instance.toml", "a default target some site can "
                                        "meet (or unserved demand allowed)",
                                        column="latency.max_rtt_ms", found=text))
    if unreachable:
        head = "; ".join(unreachable[:3])
        more = f"; and {len(unreachable) - 3} more" if len(unreachable) > 3 else ""
        count = f"{len(unreachable)} (region, class) pairs have no site within target: " if len(
            unreachable) > 1 else ""
        warnings.append(f"{count}{head}{more}; their demand will be unserved")


def check_service_costs(meta: Metadata, tables: Tables, lat: pd.DataFrame,
                        problems: list[Problem], warnings: list[str]) -> None:
    """Warn once if service_costs.csv prices some allowed (site, region) pairs but not all.

    A pair without a row costs 0 (the documented default), which is what an empty table
    means; a table that covers only part of the pairs usually forgot the rest. A
    location-free region without any row is read as having no route to price (Vietnam's
    `ai_gpu`); once the table prices one of its pairs, its other pairs count too.
    """
    costs = tables["service_costs"]
    if costs.empty:
        return
    hosts = hosting_sites(tables)
    targets = latency_targets(meta, tables)
    region_node = dict(zip(tables["regions"]["region"], tables["regions"]["node"], strict=True))
    demand = tables["demand"]
    wanted = set(demand.loc[demand["it_mw"] > 0, ["region", "class"]].itertuples(
        index=False, name=None))
    rtt: dict[str, dict[str, float]] = {}
    for site, region, value in lat[["site", "region", "rtt_ms"]].itertuples(index=False,
                                                                             name=None):
        rtt.setdefault(region, {})[site] = float(value)
    priced = set(zip(costs["site"], costs["region"], strict=True))
    priced_regions = {r for _s, r in priced}
    allowed: set[tuple[str, str]] = set()
    for region, cls in wanted:
        if region_node.get(region, "") == "" and region not in priced_regions:
            continue
        target = targets.get((region, cls))
        for site in hosts.get(cls, ()):
            if region_node.get(region, "") == "" or (site in rtt.get(region, {}) and (
                    target is None or rtt[region][site] <= target + 1e-9)):
                allowed.add((site, region))
    missing = sorted(allowed - priced)
    if missing and allowed & priced:
        shown = ", ".join(f"{s}->{r}" for s, r in missing[:5])
        warnings.append(f"{_file('service_costs')} prices {len(allowed & priced)} of the "
                        f"{len(allowed)} allowed (site, region) pairs; the other {len(missing)} "
                        f"are served at cost 0 (e.g. {shown}{', ...' if len(missing) > 5 else ''})")


def check_siting(meta: Metadata, tables: Tables, problems: list[Problem],
                 warnings: list[str]) -> None:
    """`siting.sites` is a count the sites can meet: existing sites are open whatever happens.

    One rule for settings that alone make the instance infeasible: a validation error naming
    `siting.sites` (exit 2), never a solve that reports its consequences (demand cannot be
    served) without the cause: p above the number of sites under `exactly`, p below the
    existing sites, and p = 0 when demand must be served.
    """
    p = meta.siting.sites
    if p is None:
        return
    n_sites = len(tables["sites"])
    n_existing = int((tables["sites"]["existing_it_mw"] > 0).sum())
    if meta.siting.sites_rule == "exactly" and p > n_sites:
        problems.append(Problem("instance.toml", f"siting.sites <= the {n_sites} sites in "
                                f"{_file('sites')}", column="siting.sites", found=str(p)))
    demand = tables["demand"]
    if p == 0 and not meta.unserved_allowed and bool((demand["it_mw"] > 0).any()):
        problems.append(Problem("instance.toml", "siting.sites >= 1: with siting.sites = 0 no "
                                "site may open, and the demand must be served (unserved "
                                "demand is not allowed), so no plan exists", column="siting.sites",
                                found=str(p)))
    if p < n_existing:
        problems.append(Problem("instance.toml", f"siting.sites >= the {n_existing} sites with "
                                "existing capacity (they are open from the first year)",
                                column="siting.sites", found=str(p)))


def _undirected_pairs(name: str, frame: pd.DataFrame, values: tuple[str, ...],
                      what: tuple[str, str, str], problems: list[Problem]) -> None:
    """Rows (a, b) of an undirected table: a != b, and one set of `values` per pair.

    (a, b) and (b, a) are one pair: given both ways with the same values they are accepted
    (a directed export lists every pair both ways); with different values they contradict
    each other and are rejected naming both lines, as keeping either would silently pick a
    number the data does not agree on. The same direction twice is a duplicate key, which
    the reader rejects with the other tables' keys. `what` names a row, the things it joins
    and the table in messages: ("a link", "nodes", "links are").
    """
    row_is, things, table_is = what
    first: dict[tuple[str, str], tuple[int, tuple[float, ...]]] = {}
    columns = [frame[c] for c in values]
    for i, (a, b, *vals) in enumerate(zip(frame["a"], frame["b"], *columns, strict=True)):
        if a == b:
            problems.append(Problem(_file(name), f"{row_is} between two different {things} "
                                    f"(not {a} to itself)", row=row_line(frame, i), column="b",
                                    found=b))
            continue
        pair = (a, b) if a <= b else (b, a)
        now = tuple(float(v) for v in vals)
        if pair not in first:
            first[pair] = (i, now)
            continue
        j, before = first[pair]
        column = next((c for c, x, y in zip(values, now, before, strict=True) if x != y), None)
        if column is not None:
            given = ", ".join(f"{c} {x:.15g}" for c, x in zip(values, before, strict=True))
            found = ", ".join(f"{c} {x:.15g}" for c, x in zip(values, now, strict=True))
            problems.append(Problem(
                _file(name), f"one {' and '.join(values)} per {row_is.split()[-1]} ({table_is} "
                f"undirected; line "
                f"{row_line(frame, j)} has {frame['a'].iat[j]}-{frame['b'].iat[j]} with "
                f"{given})", row=row_line(frame, i), column=column, found=f"{a}-{b} with {found}"))


def check_links(meta: Metadata, tables: Tables, problems: list[Problem],
                warnings: list[str]) -> None:
    """No link joins a node to itself, and each link has one length and one delay.

    A self-loop is no fiber route, and it would enter the latency table's km and hop counts.
    Negative km and delays are cell rules (`km >= 0`); zero km is a co-located link. Links
    are undirected (`_undirected_pairs`): the graph used to keep the faster of two
    contradicting directions.
    """
    _undirected_pairs("links", tables["links"], ("km", "extra_rtt_ms"),
                      ("a link", "nodes", "links are"), problems)


def check_site_distances(meta: Metadata, tables: Tables, problems: list[Problem],
                         warnings: list[str]) -> None:
    """site_distances.csv pairs two different sites, with one km per pair.

    A site paired with itself is no distance between sites (it was ignored), and a pair
    given both ways with different km kept whichever row came last.
    """
    frame = tables.get("site_distances")
    if frame is not None and len(frame):
        _undirected_pairs("site_distances", frame, ("km",),
                          ("a pair", "sites", "site distances are"), problems)


def check_source_tags(meta: Metadata, tables: Tables, problems: list[Problem],
                      warnings: list[str]) -> None:
    """Every `source_tag` cell holds provenance letters S, D and A only."""
    for name, frame in tables.items():
        if SOURCE_TAG not in frame.columns or name not in TABLES_BY_NAME:
            continue
        for i, value in enumerate(frame[SOURCE_TAG]):
            text = "" if value is None or (isinstance(value, float) and pd.isna(value)) \
                else str(value)
            expected = source_tag_problem(text)
            if expected is not None:
                problems.append(Problem(_file(name), expected, row=row_line(frame, i),
                                        column=SOURCE_TAG, found=text))


def check_service(meta: Metadata, tables: Tables, problems: list[Problem],
                  warnings: list[str]) -> None:
    """Warn of an explicit `service` setting that the objective overrides or that does nothing.

    The rule itself is `Metadata.unserved_allowed`.
    """
    service, objective = meta.service, meta.siting.objective
    explicit = service.model_fields_set
    effective = meta.unserved_allowed
    if "allow_unserved" in explicit and service.allow_unserved != effective:
        why = ("maximal covering leaves demand unserved by design" if effective else
               "it needs every MW of demand served (serving nothing would be optimal)")
        warnings.append(f"service.allow_unserved = {str(service.allow_unserved).lower()} is "
                        f"overridden by siting.objective = {objective}: {why}, so unserved "
                        f"demand is {'allowed' if effective else 'not allowed'}")
    if (objective == "total_cost" and "unserved_penalty_usd_m_per_mw_year" in explicit
            and not effective):
        how = ("is false" if "allow_unserved" in explicit
               else "is not set (default false)")
        warnings.append("service.unserved_penalty_usd_m_per_mw_year is set but "
                        f"service.allow_unserved {how}: every MW of demand is a hard "
                        "requirement and the penalty is not used")


CHECKS: tuple[Check, ...] = (
    check_years, check_references, check_cooling, check_phases, check_site_capacity,
    check_headroom,
    check_budgets, check_latency_targets, check_links, check_site_distances,
    check_siting, check_service,
    check_source_tags, check_catalog,
)


def cross_check(meta: Metadata, tables: Tables, timings: dict[str, float] | None = None
                ) -> tuple[list[str], pd.DataFrame]:
    """Run every cross-table check, then the graph check on valid references.

    Raise InputError with all problems; else return the warnings and the site-region
    latency table (computed once here, reused by the model and the `graph` command).
    `timings`, if given, receives the seconds of the checks and of the graph work.
    """
    problems: list[Problem] = []
    warnings: list[str] = []
    start = time.perf_counter()
    for check in CHECKS:
        check(meta, tables, problems, warnings)
    if problems:  # the graph needs valid references
        raise InputError(problems)
    middle = time.perf_counter()
    graph = instance_graph(tables, meta.latency)
    graph_lat = latency_table(graph, tables["sites"], tables["regions"], meta.latency)
    lat = with_given_latency(graph_lat, tables["latency"])
    if any(rule.n_minus_1_links for rule in meta.resilience.values()):  # models/siteplan.md §8
        lat["rtt_ms_n1"] = n1_latency_given(tables, meta.latency, graph_lat, lat)
    check_reachability(meta, tables, lat, problems, warnings)
    check_resilience(meta, tables, lat, problems, warnings)
    check_service_costs(meta, tables, lat, problems, warnings)
    if problems:
        raise InputError(problems)
    if timings is not None:
        timings.update(checks=middle - start, graph=time.perf_counter() - middle)
    return warnings, lat
