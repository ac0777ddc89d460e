"""Phases, cooling choices and existing plant of a generated instance's sites."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from siteopt.synth.geography import _Ids, _Metros, _Places
from siteopt.synth.spec import AIR, LIQUID, MIXED, GeneratorSpec
from siteopt.synth.spec import ASSUMPTIONS as A


@dataclass
class _Build:
    """Per-site kind and phases (flat arrays, one entry per phase)."""

    kind: np.ndarray  # per site: AIR, MIXED, LIQUID
    phase_site: np.ndarray
    phase_no: np.ndarray  # 1-based order within the site
    it_mw: np.ndarray
    capex: np.ndarray
    lead_months: np.ndarray
    cooling: list[str]

    def site_mw(self, n_sites: int) -> np.ndarray:
        """IT MW of every phase of each site, summed."""
        return np.bincount(self.phase_site, weights=self.it_mw, minlength=n_sites)


def _phases(spec: GeneratorSpec, rng: np.random.Generator) -> _Build:
    n = spec.sites
    kind = rng.choice(3, size=n, p=list(A.site_kind_shares))
    if spec.classes >= 3 and not (kind != AIR).any():
        kind[0] = MIXED  # the AI class needs a site that can run liquid cooling
    count = rng.integers(spec.phases_min, spec.phases_max + 1, size=n)
    unit = rng.choice(list(A.site_unit_mw), size=n, p=list(A.site_unit_shares))
    per_mw = rng.uniform(*A.capex_usd_m_per_mw, size=n)
    site = np.repeat(np.arange(n), count)
    no = np.concatenate([np.arange(1, c + 1) for c in count])
    total = len(site)
    scale = np.where(no == 1, 1.0, rng.choice(list(A.later_phase_scale), size=total))
    it_mw = np.round(unit[site] * scale * 2) / 2
    capex = np.round(it_mw * per_mw[site] * (1 - A.later_phase_discount * (no - 1)), 1)
    lead = np.where(no == 1, rng.choice(list(A.first_lead_months), size=total),
                    rng.choice(list(A.later_lead_months), size=total))
    lead = np.minimum(lead, 12 * min(A.max_lead_years, spec.years - 1))
    last = no == count[site]
    cooling = []
    for k, first, final in zip(kind[site].tolist(), (no == 1).tolist(), last.tolist(),
                               strict=True):
        if k == AIR:
            cooling.append("air")
        elif k == LIQUID:
            cooling.append("dlc|immersion")
        elif first:
            cooling.append("air")
        else:
            cooling.append("air|dlc|immersion" if final else "air|dlc")
    return _Build(kind, site, no, it_mw, capex, lead.astype(int), cooling)


def _existing_sites(spec: GeneratorSpec, metros: _Metros, sites: _Places) -> np.ndarray:
    """Sites with existing capacity: the most central site of every metro, then the next.

    A share `existing_share` of the sites, but at least one per metro (none if the share
    is 0): today's demand is served by today's plant, in the metros.
    """
    if spec.existing_share <= 0:
        return np.zeros(spec.sites, bool)
    rank = np.zeros(spec.sites, int)  # sites are ordered by metro, then centre distance
    for m in np.unique(sites.metro):
        members = np.flatnonzero(sites.metro == m)
        rank[members] = np.arange(len(members))
    n = max(round(spec.existing_share * spec.sites), int((rank == 0).sum()))
    pick = np.lexsort((np.arange(spec.sites), -metros.weight[sites.metro], rank))[:n]
    out = np.zeros(spec.sites, bool)
    out[pick] = True
    return out


def _site_tables(spec: GeneratorSpec, rng: np.random.Generator, ids: _Ids, sites: _Places,
                 build: _Build, existing_mw: np.ndarray, existing: np.ndarray, zone: np.ndarray,
                 sponsor: np.ndarray, open_cost: np.ndarray) -> dict[str, pd.DataFrame]:
    """sites, phases and cooling (`existing_mw`: the IT MW each site already has)."""
    cooling = A.cooling if existing.any() else A.cooling[1:]
    return {
        "sites": pd.DataFrame({
            "site": ids.site, "name": ids.site_name, "zone": [ids.zone[z] for z in zone],
            "node": ids.site, "sponsor": [ids.sponsor[s] for s in sponsor],
            "lat": np.round(sites.lat, 4), "lon": np.round(sites.lon, 4),
            "open_cost_usd_m": open_cost,
            "site_fixed_om_usd_m_per_year": np.round(rng.uniform(*A.site_fixed_om_usd_m,
                                                               spec.sites), 2),
            "max_it_mw": np.round(existing_mw + build.site_mw(spec.sites), 1),
            "existing_it_mw": existing_mw,
            "existing_cooling": np.where(existing, "legacy", ""),
        }),
        "phases": pd.DataFrame({
            "site": [ids.site[s] for s in build.phase_site],
            "phase": [f"p{k}" for k in build.phase_no], "order": build.phase_no,
            "it_mw": build.it_mw, "capex_usd_m": build.capex, "cooling": build.cooling,
            "lead_months": build.lead_months,
        }),
        "cooling": pd.DataFrame({
            "cooling": [c[0] for c in cooling], "name": [c[1] for c in cooling],
            "pue": [c[2] for c in cooling], "capex_factor": [c[3] for c in cooling],
            "buildable": ["false" if c[0] == "legacy" else "true" for c in cooling],
        }),
    }
