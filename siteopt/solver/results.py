"""Result tables of a solved plan, named like the model's variables and expressions.

Tables (pandas DataFrames, stable order): `schedule` (online), `sites` (open), `upgrades`
(upgrade), `capacity` (capacity, it_load), `power` (power vs. headroom), `served` (serve, with
latency), `unserved` (unserved), `costs` (cost terms per year and their present value).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from siteopt.data.instance import Instance
from siteopt.data.rules import latency_targets, spend_years
from siteopt.model.arrays import array_terms
from siteopt.model.data import ModelData
from siteopt.model.sets import COST_TERMS

#: Values closer to zero than this are reported as zero (solver noise, MW or USD M).
ZERO = 1e-7

RESULT_TABLES = ("schedule", "sites", "upgrades", "capacity", "power", "served", "unserved",
                 "costs")


def _val(x: object) -> float:
    return _zero(float(pyo.value(x)))


def _zero(v: float) -> float:
    return 0.0 if abs(v) < ZERO else v


def _first_year(var: pyo.Var, keys: list[tuple]) -> int | None:
    years = [key[-1] for key in keys if round(var[key].value or 0.0) == 1]
    return min(years) if years else None


def extract(m: pyo.ConcreteModel, d: ModelData, inst: Instance) -> dict[str, pd.DataFrame]:
    """Every result table of the plan currently loaded in the model's variables."""
    schedule = _schedule(m, d)
    tables = {
        "schedule": schedule,
        "sites": _sites(m, d, inst, schedule),
        "upgrades": _upgrades(m, d),
        "capacity": _capacity(m, d),
        "power": _power(m, d),
        "served": _served(m, d, inst),
        "unserved": _unserved(m, d),
        "costs": _costs(m, d),
    }
    return tables


def _schedule(m: pyo.ConcreteModel, d: ModelData) -> pd.DataFrame:
    by_spk: dict[tuple[str, str, str], list[tuple]] = {}
    for key in d.SPKY:
        by_spk.setdefault(key[:3], []).append(key)
    rows = []
    for (s, p, k), keys in by_spk.items():
        year = _first_year(m.online, keys)
        if year is not None:
            capex = d.phase_capex[s, p] * d.capex_factor[k]
            span = spend_years(year, d.phase_lead[s, p])
            inside = sum(1 for y in span if d.first_year <= y <= d.last_year)
            rows.append({"site": s, "phase": p, "cooling": k, "online_year": year,
                         "it_mw": d.phase_it[s, p], "capex_with_cooling_usd_m": capex,
                         "capex_in_horizon_usd_m": capex * inside / len(span),
                         "committed": (s, p) in d.phase_committed})
    order = {sp: i for i, sp in enumerate(d.SP)}
    frame = pd.DataFrame(rows, columns=["site", "phase", "cooling", "online_year", "it_mw",
                                        "capex_with_cooling_usd_m", "capex_in_horizon_usd_m",
                                        "committed"])
    if not frame.empty:
        frame["_o"] = [order[(s, p)] for s, p in zip(frame["site"], frame["phase"], strict=True)]
        frame = frame.sort_values(["online_year", "_o"]).drop(columns="_o")
    return frame.reset_index(drop=True)


def _sites(m: pyo.ConcreteModel, d: ModelData, inst: Instance,
           schedule: pd.DataFrame) -> pd.DataFrame:
    names = dict(zip(inst.table("sites")["site"], inst.table("sites")["name"], strict=True))
    built = schedule.groupby("site")["it_mw"].sum().to_dict()
    rows = []
    for s in d.S:
        if s in d.opened_before:
            year: int | None = d.first_year
        else:
            year = _first_year(m.open, [(s, y) for y in d.Y])
        final = sum(d.existing.get((s, k), 0.0) for k in d.K) + built.get(s, 0.0)
        rows.append({"site": s, "name": names[s], "zone": d.site_zone[s],
                     "sponsor": d.site_sponsor[s], "existing": s in d.opened_before,
                     "open_year": year, "it_mw_final": final})
    frame = pd.DataFrame(rows)
    frame["open_year"] = frame["open_year"].astype("Int64")
    return frame


def _upgrades(m: pyo.ConcreteModel, d: ModelData) -> pd.DataFrame:
    rows = []
    for u in d.U:
        year = _first_year(m.upgrade, [key for key in d.UY if key[0] == u])
        if year is not None:
            rows.append({"upgrade": u, "zone": d.upgrade_zone[u], "online_year": year,
                         "add_mw": d.upgrade_mw[u], "capex_usd_m": d.upgrade_capex[u]})
    return pd.DataFrame(rows, columns=["upgrade", "zone", "online_year", "add_mw",
                                       "capex_usd_m"])


def _capacity(m: pyo.ConcreteModel, d: ModelData) -> pd.DataFrame:
    rows = []
    for s, k, y in d.SKY:
        cap = _val(m.capacity[s, k, y])
        load = _val(m.it_load[s, k, y])
        if cap or load:
            rows.append({"site": s, "cooling": k, "year": y, "capacity_mw": cap,
                         "it_load_mw": load, "pue": d.pue[k]})
    return pd.DataFrame(rows, columns=["site", "cooling", "year", "capacity_mw", "it_load_mw",
                                       "pue"])


def _power(m: pyo.ConcreteModel, d: ModelData) -> pd.DataFrame:
    added: dict[tuple[str, int], float] = {}
    for u, y in d.UY:
        if round(m.upgrade[u, y].value or 0) == 1:
            key = (d.upgrade_zone[u], y)
            added[key] = added.get(key, 0.0) + d.upgrade_mw[u]
    rows = []
    for z in d.Z:
        for y in d.Y:
            upgrade_mw = added.get((z, y), 0.0)
            head = d.derate[z] * d.headroom[z, y]
            rows.append({"zone": z, "year": y, "power_mw": _val(m.power[z, y]),
                         "headroom_mw": head, "upgrade_mw": upgrade_mw,
                         "limit_mw": head + upgrade_mw})
    return pd.DataFrame(rows)


def _served(m: pyo.ConcreteModel, d: ModelData, inst: Instance) -> pd.DataFrame:
    targets = latency_targets(inst.meta, inst.tables)
    values = np.fromiter((v.value for v in m.serve.values()), float, len(d.SRCY))
    rows = []
    for j in np.flatnonzero(np.abs(values) >= ZERO).tolist():
        s, r, c, y = d.SRCY[j]
        rows.append({"site": s, "region": r, "class": c, "year": y, "serve_mw": values[j],
                     "rtt_ms": d.latency.get((s, r), float("nan")),
                     "max_rtt_ms": targets.get((r, c), float("nan"))})
    return pd.DataFrame(rows, columns=["site", "region", "class", "year", "serve_mw", "rtt_ms",
                                       "max_rtt_ms"])


def _unserved(m: pyo.ConcreteModel, d: ModelData) -> pd.DataFrame:
    rows = []
    for r, c, y in d.RCY:
        v = _val(m.unserved[r, c, y])
        if v:
            rows.append({"region": r, "class": c, "year": y, "demand_mw": d.demand[r, c, y],
                         "unserved_mw": v})
    return pd.DataFrame(rows, columns=["region", "class", "year", "demand_mw", "unserved_mw"])


def _costs(m: pyo.ConcreteModel, d: ModelData) -> pd.DataFrame:
    rows = []
    for y in d.Y:
        row: dict[str, float] = {"year": y, "discount": d.discount[y]}
        for term in COST_TERMS:
            expr = m.cost[term, y]
            arrays = array_terms(m, expr.expr)  # the per-pair service cost: no term walk
            row[term] = _zero(arrays.value()) if arrays is not None else _val(expr)
        row["total"] = sum(row[t] for t in COST_TERMS)
        row["total_pv"] = row["total"] * d.discount[y]
        rows.append(row)
    return pd.DataFrame(rows)
