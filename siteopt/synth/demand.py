"""Demand, latency targets, serving costs and budgets of a generated instance."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from siteopt.synth.geography import _ceil_to, _Ids, _Metros, _Network, _Places
from siteopt.synth.phases import _Build
from siteopt.synth.spec import ASSUMPTIONS as A
from siteopt.synth.spec import CLASSES, GeneratorSpec


@dataclass
class _Demand:
    mw: np.ndarray  # (regions, classes, years)
    has: np.ndarray  # (regions, classes) whether the class has demand in the region
    existing_mw: np.ndarray  # (sites,)


def _demand(spec: GeneratorSpec, rng: np.random.Generator, metros: _Metros,
            regions: _Places, sites: _Places, build: _Build, existing: np.ndarray) -> _Demand:
    """Demand per region, class and year, and the existing capacity, from capacity_ratio.

    A region's demand grows at its own rate; sens takes a fixed share of it, flex the rest,
    and ai (in some metro regions) comes on top with a share growing from 5 % to 35 %
    (5 % only when ai has a single year).
    Existing plant serves `Assumptions.existing_cover` of each metro's first-year demand.
    """
    n_r, n_y, n_c = spec.regions, spec.years, spec.classes
    weight = metros.weight[regions.metro] * rng.lognormal(0.0, A.region_weight_sigma, n_r)
    weight = np.where(regions.rural, A.rural_weight * weight, weight)
    growth = rng.uniform(*A.demand_growth, n_r)
    t = np.arange(n_y)
    base = weight[:, None] * (1 + growth[:, None]) ** (t[None, :] - (n_y - 1))
    sens = rng.uniform(*A.sens_share, n_r)
    ai_region = (~regions.rural) & (rng.random(n_r) < spec.ai_region_share)
    if n_c >= 3 and not ai_region.any():
        ai_region[int(np.argmax(weight))] = True
    # ai arrives once liquid-cooled phases can be online (lead times are at most 2 years)
    start = min(A.max_lead_years, n_y - 1)
    ai_share = np.where(t >= start, A.ai_share_first + A.ai_share_growth * (t - start)
                        / max(1, n_y - 1 - start), 0.0)
    raw = np.zeros((n_r, n_c, n_y))
    if n_c == 1:
        raw[:, 0, :] = base
    else:
        raw[:, 0, :] = sens[:, None] * base
        raw[:, 1, :] = (1 - sens[:, None]) * base
        if n_c >= 3:
            raw[:, 2, :] = ai_region[:, None] * ai_share[None, :] * base
    raw /= raw[:, :, -1].sum()  # peak (last-year) total 1
    first = raw[:, :, 0].sum(axis=1)
    util = A.service["max_utilization"]
    cover = A.existing_cover if existing.any() else 0.0
    # ratio = util (existing + phases) / peak, existing = cover x first-year demand / util
    peak = util * float(build.it_mw.sum()) / (spec.capacity_ratio - cover * float(first.sum()))
    metro_first = np.bincount(regions.metro, weights=first * peak, minlength=len(metros.lat))
    # metros without an existing site hand their share to the largest metro that has one
    has_plant = np.bincount(sites.metro[existing], minlength=len(metros.lat)) > 0
    if existing.any():
        orphan = float(metro_first[~has_plant].sum())
        metro_first = np.where(has_plant, metro_first, 0.0)
        metro_first[int(np.argmax(np.where(has_plant, metros.weight, -1.0)))] += orphan
    ex_weight = np.where(existing, rng.uniform(*A.existing_weight, spec.sites), 0.0)
    metro_weight = np.bincount(sites.metro, weights=ex_weight, minlength=len(metros.lat))
    existing_mw = np.zeros(spec.sites)
    if existing.any():
        target = cover * metro_first[sites.metro] / util * ex_weight / np.maximum(
            metro_weight[sites.metro], 1e-12)
        existing_mw = np.where(existing, np.maximum(np.round(2 * target) / 2,
                                                    A.existing_min_mw), 0.0)
    has = np.ones((n_r, n_c), bool)
    if n_c >= 3:
        has[:, 2] = ai_region
    mw = np.where(raw > 0, np.maximum(np.round(peak * raw, 3), A.demand_min_mw), 0.0)
    return _Demand(mw, has, existing_mw)


def _targets(spec: GeneratorSpec, rng: np.random.Generator, rtt: np.ndarray,
             hosts: np.ndarray) -> np.ndarray:
    """Round-trip target per (region, class): reach about the class's share of its hosts.

    One jitter per region (its geography) for every class; a looser class never gets a
    tighter target than a tighter class in the same region.
    """
    targets = np.zeros((spec.regions, spec.classes))
    jitter = rng.uniform(*A.target_jitter, spec.regions)
    for c in range(spec.classes):
        reach = getattr(spec, CLASSES[c][3])
        mine = rtt[hosts[:, c]]
        base = float(np.quantile(mine, reach))
        m = min(spec.min_reach, mine.shape[0])
        kth = np.partition(mine, m - 1, axis=0)[m - 1]
        targets[:, c] = _ceil_to(np.maximum(base * jitter, kth), A.target_step_ms)
    if spec.classes >= 2:
        targets[:, 1:] = np.maximum(targets[:, 1:], targets[:, :1])
    return targets


def _demand_tables(spec: GeneratorSpec, ids: _Ids, demand: _Demand, net: _Network,
                   rtt: np.ndarray, targets: np.ndarray, hosts: np.ndarray
                   ) -> dict[str, pd.DataFrame]:
    """regions, classes, demand, latency_targets, and service_costs of the reachable pairs.

    A pair gets a serving cost when it is within the target of some class that has demand
    in the region and that the site can host (the pairs the model can use).
    """
    years = np.arange(spec.first_year, spec.last_year + 1)
    region = np.array(ids.region, dtype=object)
    cls = np.array(ids.cls, dtype=object)
    r_idx, c_idx, y_idx = np.nonzero(demand.mw > 0)  # region-major, then class, then year
    within = ((rtt[:, :, None] <= targets[None, :, :] + 1e-9) & hosts[:, None, :]
              & demand.has[None, :, :])
    pair_site, pair_region = np.nonzero(within.any(axis=2))  # site-major, then region
    chosen = CLASSES[:spec.classes]
    return {
        "regions": pd.DataFrame({"region": ids.region, "name": ids.region_name,
                                 "node": ids.region}),
        "classes": pd.DataFrame({"class": ids.cls, "name": [c[1] for c in chosen],
                                 "cooling": [c[2] for c in chosen]}),
        "demand": pd.DataFrame({
            "region": region[r_idx], "class": cls[c_idx], "year": years[y_idx],
            "it_mw": demand.mw[r_idx, c_idx, y_idx],
        }),
        "latency_targets": pd.DataFrame({
            "region": np.repeat(region, spec.classes), "class": np.tile(cls, spec.regions),
            "max_rtt_ms": targets.ravel(),
        }),
        "service_costs": pd.DataFrame({
            "site": np.array(ids.site, dtype=object)[pair_site], "region": region[pair_region],
            "cost_usd_m_per_mw_year": np.round(
                A.service_cost_per_km * net.route_km[pair_site, pair_region], 6),
        }),
    }


def _budgets(spec: GeneratorSpec, rng: np.random.Generator, demand: _Demand, build: _Build,
             open_cost: np.ndarray, sponsor: np.ndarray, sponsor_ids: list[str]
             ) -> pd.DataFrame:
    """All-sponsor envelope and yearly limits, and a horizon budget per sponsor."""
    util = A.service["max_utilization"]
    peak = float(demand.mw[:, :, -1].sum())
    per_mw = float(build.capex.sum() / build.it_mw.sum())
    new_mw = max(0.0, peak / util - float(demand.existing_mw.sum()))
    need = new_mw * per_mw * A.budget_cooling_factor + float(open_cost.sum()) * A.budget_open_share
    first = build.phase_no == 1
    # first phases with their opening (0 at existing sites), at the dearest cooling: every
    # budget can pay for the cheapest one in its scope
    first_cost = build.capex[first] * A.dearest_cooling_factor + open_cost[build.phase_site[first]]
    cheapest = float(first_cost.min())
    floor = A.budget_floor * cheapest
    envelope = max(A.envelope_factor * need, floor)
    yearly = np.maximum(A.yearly_factor * need / max(1, spec.years - 1)
                        * rng.uniform(*A.yearly_jitter, spec.years), floor)
    site_capex = np.bincount(build.phase_site, weights=build.capex, minlength=spec.sites)
    own = np.bincount(sponsor, weights=site_capex, minlength=len(sponsor_ids))
    own_cheapest = np.full(len(sponsor_ids), np.inf)
    np.minimum.at(own_cheapest, sponsor[build.phase_site[first]], first_cost)
    per_sponsor = np.maximum(own * rng.uniform(*A.sponsor_share, len(sponsor_ids)),
                             A.budget_floor * own_cheapest)
    n_sp = len(sponsor_ids)
    return pd.DataFrame({
        "sponsor": [""] * (1 + spec.years) + list(sponsor_ids),
        "year": pd.array([None, *range(spec.first_year, spec.last_year + 1)] + [None] * n_sp,
                         dtype="Int64"),
        "max_capex_usd_m": np.round(np.concatenate([[envelope], yearly, per_sponsor]), 1),
    })
