"""Lookups over the model's index sets, built once per model from its data.

`Lookups` groups the small sets (phases by site and year, zones' sites, spend schedules);
`PairArrays` holds the serve keys SRCY as integer arrays and `Columns` every variable in one
tuple, so that the families with a row or term per served pair are assembled by numpy.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pyomo.environ as pyo

from siteopt.data.rules import spend_years
from siteopt.model.arrays import ragged_take
from siteopt.model.data import ModelData
from siteopt.model.pyomo_internals import element_dict


class Lookups:
    """The small index sets grouped for the rule-built families (by site, zone, year)."""

    def __init__(self, d: ModelData):
        self.online_k: dict[tuple[str, str, int], list[str]] = defaultdict(list)
        self.spky = set(d.SPKY)
        for s, p, k, y in d.SPKY:
            self.online_k[s, p, y].append(k)
        self.site_phase_y: dict[tuple[str, str, int], list[tuple[str, str]]] = defaultdict(list)
        for s, p, k, y in d.SPKY:
            self.site_phase_y[s, k, y].append((s, p))
        self.first_phase = {s: p for (s, p), prev in d.phase_prev.items() if prev is None}
        self.sky = set(d.SKY)
        self.site_k_y: dict[tuple[str, int], list[str]] = defaultdict(list)
        for s, k, y in d.SKY:
            self.site_k_y[s, y].append(k)
        self.rcy_by_year: dict[int, list[tuple[str, str, int]]] = defaultdict(list)
        for key in d.RCY:
            self.rcy_by_year[key[2]].append(key)
        self.zone_sites: dict[str, list[str]] = defaultdict(list)
        for s in d.S:
            self.zone_sites[d.site_zone[s]].append(s)
        self.zone_upgrades: dict[tuple[str, int], list[str]] = defaultdict(list)
        for u, y in d.UY:
            self.zone_upgrades[d.upgrade_zone[u], y].append(u)
        self.uy = set(d.UY)
        # capex spend: for each site and spend year, the (online key, weight) pairs paying then
        self.phase_spend: dict[tuple[str, int], list[tuple[tuple[str, str, str, int], float]]] = (
            defaultdict(list))
        for s, p, k, y in d.SPKY:
            lead = d.phase_lead[s, p]
            years = spend_years(y, lead)
            amount = d.phase_capex[s, p] * d.capex_factor[k] / len(years)
            for tau in years:
                if d.first_year <= tau <= d.last_year:
                    self.phase_spend[s, tau].append(((s, p, k, y), amount))
        self.upgrade_spend: dict[tuple[str, int], list[tuple[tuple[str, int], float]]] = (
            defaultdict(list))
        for u, y in d.UY:
            years = spend_years(y, d.upgrade_lead[u])
            for tau in years:
                if d.first_year <= tau <= d.last_year:
                    self.upgrade_spend[u, tau].append(((u, y), d.upgrade_capex[u] / len(years)))


class PairArrays:
    """The serve keys SRCY as integer arrays (positions in S, R, C, RCY; year offsets).

    Families with a term or a row per served pair are assembled from these with numpy.
    """

    def __init__(self, d: ModelData):
        n = len(d.SRCY)
        self.n = n
        self.n_years = len(d.Y)
        #: positions in S, C and K, as the arrays number them
        self.s_pos = s_pos = {s: i for i, s in enumerate(d.S)}
        self.c_pos = c_pos = {c: i for i, c in enumerate(d.C)}
        self.k_pos = {k: i for i, k in enumerate(d.K)}
        rcy_pos = {key: i for i, key in enumerate(d.RCY)}
        sites, regions, classes, years = (zip(*d.SRCY, strict=True) if n
                                          else ((), (), (), ()))
        self.site = np.fromiter(map(s_pos.__getitem__, sites), np.int64, n)
        self.cls = np.fromiter(map(c_pos.__getitem__, classes), np.int64, n)
        self.year = np.fromiter(years, np.int64, n) - d.first_year
        self.rcy = np.fromiter(map(rcy_pos.__getitem__, zip(regions, classes, years,
                                                             strict=True)), np.int64, n)
        r_pos = {r: i for i, r in enumerate(d.R)}
        self.region = np.fromiter(map(r_pos.__getitem__, regions), np.int64, n)
        demand = np.fromiter((d.demand[key] for key in d.RCY), float, len(d.RCY))
        self.demand = demand[self.rcy]
        self.service_cost = pair_values(d.service_cost, s_pos, r_pos,
                                         self.site * len(d.R) + self.region)
        self.site_year = self.site * self.n_years + self.year


def pair_values(values: dict[tuple[str, str], float], s_pos: dict[str, int],
                 r_pos: dict[str, int], codes: np.ndarray) -> np.ndarray:
    """values[s, r] (0 where absent) for pair codes s * |R| + r."""
    n = len(values)
    keys = np.fromiter((s_pos[s] * len(r_pos) + r_pos[r] for s, r in values), np.int64, n)
    vals = np.fromiter(values.values(), float, n)
    order = np.argsort(keys)
    keys, vals = keys[order], vals[order]
    if not n:
        return np.zeros(len(codes))
    where = np.searchsorted(keys, codes).clip(max=n - 1)
    return np.where(keys[where] == codes, vals[where], 0.0)


class Columns:
    """Every variable of the model in one tuple, so array families address them by position.

    Position of var[key] = start[var name] + position of key in the variable's index set.
    """

    NAMES = ("open", "online", "upgrade", "serve", "it_load", "unserved")

    def __init__(self, m: pyo.ConcreteModel):
        self.start: dict[str, int] = {}
        x: list[pyo.Var] = []
        for name in self.NAMES:
            self.start[name] = len(x)
            x.extend(in_index_order(getattr(m, name)))
        self.x = tuple(x)

    def add(self, m: pyo.ConcreteModel, name: str) -> None:
        """Append a variable declared after the standard ones (e.g. rtt_level)."""
        self.start[name] = len(self.x)
        self.x = self.x + tuple(in_index_order(getattr(m, name)))


def in_index_order(var: pyo.Var) -> list[pyo.Var]:
    """The elements of a fully built indexed variable, in the order of its index set.

    A dense variable built over an ordered set holds its elements in a dict filled in that
    order; reading it directly is ten times faster than `values()` (which re-walks the set).
    """
    data = element_dict(var)
    if len(data) == len(var.index_set()) and var.index_set().isordered():
        return list(data.values())
    return list(var.values())


def expand(lists: dict[int, list[int]], codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each i and each value v of lists[codes[i]] (none if absent): arrays (v, i)."""
    if not lists:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    keys = np.array(sorted(lists), dtype=np.int64)
    sizes = [len(lists[key]) for key in keys.tolist()]
    flat = np.fromiter((v for key in keys.tolist() for v in lists[key]), np.int64, sum(sizes))
    ptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    where = np.searchsorted(keys, codes).clip(max=len(keys) - 1)
    counts = np.where(keys[where] == codes, ptr[where + 1] - ptr[where], 0)
    owner, pos = ragged_take(ptr[where], counts)
    return flat[pos], owner
