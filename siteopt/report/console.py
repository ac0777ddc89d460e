"""The human-readable summary of a plan, printed by `siteopt solve`."""

from __future__ import annotations

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from siteopt.data.instance import Instance
from siteopt.io.schema import COST_UNIT
from siteopt.model.sets import COST_TERMS
from siteopt.solver.pipeline import Result, objective_unit


def _fmt(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:,.{digits}f}"


def print_summary(result: Result, inst: Instance, console: Console | None = None,
                  err: Console | None = None) -> None:
    """Status, objective, gap, sites, phase schedule, power vs headroom, costs, unserved.

    The plan goes to `console` (standard output); warnings to `err` (standard error, as
    `siteopt validate` prints them), so that stdout stays the result and a CI log or a pipe
    sees them apart. A plan that failed verification is marked "NOT verified" here; its
    violations are the caller's error message (`siteopt solve` prints them on stderr).
    """
    con = console or Console()
    diagnostics = err or Console(stderr=True, highlight=False)
    if not result.has_plan:
        con.print(f"[bold]{escape(inst.meta.name)}[/bold]  status [bold]{result.status}[/bold]  "
                  f"(solver: {escape(result.solver_status)})")
        return
    verdict = "[green]verified[/green]" if result.verified else "[red]NOT verified[/red]"
    name = result.objective_name
    unit = inst.meta.cost_unit  # USD M, or an imported benchmark's own cost units
    con.print(f"[bold]{escape(inst.meta.name)}[/bold]  status [bold]{result.status}[/bold]  "
              f"{name} {_fmt(result.objective)} {escape(objective_unit(name, unit))}  "
              f"bound {_fmt(result.bound)}  "
              f"gap {_fmt(None if result.gap is None else 100 * result.gap, 4)}%  {verdict}")
    if name != "total_cost":
        con.print(f"cheapest plan at that {name}: total_cost {_fmt(result.total_cost)} "
                  f"{escape(unit)} (PV)")
    if "set_covering_sites" in result.stages:  # LSCP-B's first stage
        con.print(f"sites: the set-covering number p = {result.stages['set_covering_sites']} "
                  "(first stage, site_count)")
    size = result.size
    if size:
        con.print(f"model {size['rows']:,} rows x {size['columns']:,} columns, "
                  f"{size['nonzeros']:,} nonzeros ({size['integer_columns']:,} integer); "
                  f"solved in {result.timings.get('solve', 0):.2f} s "
                  f"(total {result.timings.get('total', 0):.2f} s)")
    for w in result.warnings:
        diagnostics.print(f"[yellow]warning:[/yellow] {escape(w)}", soft_wrap=True)
    if not result.tables:
        return
    t = result.tables

    sites = t["sites"]
    opened = sites[sites["open_year"].notna()]
    tab = Table(title="Sites open", title_justify="left")
    for col in ("site", "name", "zone", "open year", "IT MW at end"):
        tab.add_column(col)
    for r in opened.itertuples(index=False):
        tab.add_row(escape(r.site), escape(r.name), escape(r.zone),
                    "existing" if r.existing else str(r.open_year),
                    _fmt(r.it_mw_final, 1))
    con.print(tab)

    sched = t["schedule"]
    tab = Table(title="Phase schedule (decision: the year construction starts)",
                title_justify="left")
    for col in ("decision", "online", "site", "phase", "cooling", "IT MW",
                f"capex with cooling {escape(unit)}",
                "of which in horizon", ""):
        tab.add_column(col)
    for r in sched.itertuples(index=False):
        decision = getattr(r, "decision_year", None)
        tab.add_row("-" if decision is None or pd.isna(decision) else str(decision),
                    str(r.online_year), escape(r.site), escape(r.phase), escape(r.cooling),
                    _fmt(r.it_mw, 1),
                    _fmt(r.capex_with_cooling_usd_m, 1), _fmt(r.capex_in_horizon_usd_m, 1),
                    "committed" if r.committed else "")
    con.print(tab)

    ups = t["upgrades"]
    if len(ups):
        tab = Table(title="Grid upgrades bought", title_justify="left")
        for col in ("upgrade", "zone", "online year", "+MW", f"capex {escape(unit)}"):
            tab.add_column(col)
        for r in ups.itertuples(index=False):
            tab.add_row(escape(r.upgrade), escape(r.zone), str(r.online_year), _fmt(r.add_mw, 1),
                        _fmt(r.capex_usd_m, 1))
        con.print(tab)

    print_power(t["power"], con)

    costs = t["costs"]
    tab = Table(title=f"Cost breakdown ({escape(unit)})", title_justify="left")
    tab.add_column("term")
    tab.add_column("undiscounted", justify="right")
    tab.add_column("present value", justify="right")
    for term in COST_TERMS:
        tab.add_row(term, _fmt(costs[term].sum()), _fmt((costs[term] * costs["discount"]).sum()))
    tab.add_row("[bold]total[/bold]", _fmt(costs["total"].sum()), _fmt(costs["total_pv"].sum()))
    con.print(tab)

    if "budgets" in t:
        print_budgets(t["budgets"], con, unit=unit)

    print_resilience(result.resilience, con, unit=unit)

    uns = t["unserved"]
    if len(uns):
        tab = Table(title="Unserved demand", title_justify="left")
        for col in ("region", "class", "MW-years", "worst year MW", "years", "why"):
            tab.add_column(col)
        for row in unserved_summary(uns).itertuples(index=False):
            tab.add_row(escape(str(row.region)), escape(str(row._1)), _fmt(row.mw_years),
                        _fmt(row.worst_mw), escape(row.years), escape(row.reason))
        con.print(tab)
    else:
        con.print("Unserved demand: none")


#: Most year columns the power table shows; beyond, the tightest years (and says so).
MAX_POWER_YEARS = 12


def power_years(power: pd.DataFrame, most: int = MAX_POWER_YEARS) -> tuple[list[int], list[int]]:
    """The years the power table shows and those it hides (all years when few enough).

    Beyond `most` years: the `most` years with the least total slack (tightest) in year order.
    """
    years = sorted(int(y) for y in power["year"].unique())
    if len(years) <= most:
        return years, []
    slack = (power["limit_mw"] - power["power_mw"]).groupby(power["year"]).min()
    shown = sorted(int(y) for y in slack.sort_values(kind="stable").index[:most])
    return shown, [y for y in years if y not in shown]


def print_power(power: pd.DataFrame, con: Console) -> None:
    """Facility power / limit per zone and year; binding cells bold and marked with '*'."""
    shown, hidden = power_years(power)
    title = "Facility power / limit by zone (MW; * = within 1 % of the limit)"
    if hidden:
        title += (f"; the {len(shown)} tightest years of {len(shown) + len(hidden)}, hidden: "
                  + ", ".join(map(str, hidden)))
    tab = Table(title=title, title_justify="left")
    tab.add_column("zone")
    for y in shown:
        tab.add_column(str(y), justify="right")
    for z, grp in power.groupby("zone", sort=False):
        g = grp.set_index("year")
        cells = []
        for y in shown:
            p, lim = g.at[y, "power_mw"], g.at[y, "limit_mw"]
            tight = (bool(g.at[y, "binding"]) if "binding" in g.columns
                     else p >= lim - 1e-6 and p > 0)
            cell = f"{p:,.0f}/{lim:,.0f}"
            cells.append(f"[bold]{cell}*[/bold]" if tight else cell)
        tab.add_row(escape(str(z)), *cells)
    con.print(tab)


def print_budgets(budgets: pd.DataFrame, con: Console, most: int = 20,
                  unit: str = COST_UNIT) -> None:
    """Spend against every budget row (the binding and tightest rows if there are many)."""
    if budgets.empty:
        return
    rows = budgets
    title = f"Budgets ({escape(unit)}; * = within 1 % of the limit)"
    if len(budgets) > most:
        rows = budgets.assign(_s=budgets["slack_usd_m"] / budgets["limit_usd_m"].clip(lower=1e-9))
        rows = rows.sort_values("_s", kind="stable").head(most)
        title += f"; the {most} tightest of {len(budgets)} rows"
    tab = Table(title=title, title_justify="left")
    for col in ("budget", "spend", "limit", "slack", ""):
        tab.add_column(col, justify="left" if col == "budget" else "right")
    for r in rows.itertuples(index=False):
        mark = "*" if bool(r.binding) else ""
        tab.add_row(escape(str(r.budget)), _fmt(r.spend_usd_m, 1), _fmt(r.limit_usd_m, 1),
                    _fmt(r.slack_usd_m, 1), mark)
    con.print(tab)


def unserved_summary(unserved: pd.DataFrame) -> pd.DataFrame:
    """Unserved demand per region and class: MW-years, worst year, years, reasons.

    Columns: region, class, mw_years, worst_mw, years ("2026-2028, 2031"), reason (the
    distinct reasons of its years, "; "-joined).
    """
    rows = []
    for (r, c), g in unserved.groupby(["region", "class"], sort=False):
        reasons = list(dict.fromkeys(
            part for text in g.get("reason", pd.Series(dtype=str)).fillna("")
            for part in str(text).split("; ") if part))
        rows.append({"region": r, "class": c, "mw_years": float(g["unserved_mw"].sum()),
                     "worst_mw": float(g["unserved_mw"].max()),
                     "years": year_ranges(sorted(int(y) for y in g["year"])),
                     "reason": "; ".join(reasons) or "-"})
    return pd.DataFrame(rows, columns=["region", "class", "mw_years", "worst_mw", "years",
                                       "reason"])


def year_ranges(years: list[int]) -> str:
    """'2026-2028, 2031' for [2026, 2027, 2028, 2031]."""
    parts: list[str] = []
    for y in years:
        if parts and int(parts[-1].split("-")[-1]) == y - 1:
            parts[-1] = f"{parts[-1].split('-')[0]}-{y}"
        else:
            parts.append(str(y))
    return ", ".join(parts)


def print_graph_report(inst: Instance, latency: pd.DataFrame, comps: list[set[str]],
                       console: Console | None = None) -> None:
    """Connectivity (components) and the site-to-region latency matrix."""
    con = console or Console()
    con.print(f"[bold]{escape(inst.meta.name)}[/bold]: {len(comps)} connected component(s)")
    for i, comp in enumerate(comps, 1):
        con.print(f"  component {i}: {len(comp)} nodes: {escape(', '.join(sorted(comp)))}")
    if latency.empty:
        con.print("no connected site-region pair")
        return
    matrix = latency.pivot(index="site", columns="region", values="rtt_ms")
    tab = Table(title="Round-trip latency, site -> region (ms)", title_justify="left")
    tab.add_column("site")
    for r in matrix.columns:
        tab.add_column(escape(str(r)), justify="right")
    for s, row in matrix.iterrows():
        tab.add_row(escape(str(s)), *[("-" if pd.isna(x) else f"{x:.1f}") for x in row])
    con.print(tab)


def print_resilience(binding: dict[str, object], con: Console, unit: str = COST_UNIT) -> None:
    """Which resilience rules bind, what each costs and adds, and where it is tight."""
    if not binding:
        return
    tab = Table(title="Resilience rules (binds: the plan without the rule is cheaper)",
                title_justify="left")
    for col in ("class", "rule", "binds", f"cost {escape(unit)}", "adds",
                "tight in the plan (first 3)"):
        tab.add_column(col)
    for cls, rules in binding.items():
        for name, entry in rules.items():  # type: ignore[union-attr]
            tight = entry.get("tight", [])
            more = f" (+{len(tight) - 3} more)" if len(tight) > 3 else ""
            binds = entry.get("binds")
            basis = "" if entry.get("basis", "").startswith("re-solve") else " (tight)"
            adds = entry.get("adds_phases") or []
            tab.add_row(escape(cls), name,
                        ("?" if binds is None else "yes" if binds else "no") + basis,
                        _fmt(entry.get("cost_usd_m")), escape(", ".join(adds) or "-"),
                        escape("; ".join(tight[:3]) + more))
    con.print(tab)
