"""The grid of a generated instance: zones, headroom and upgrades."""

from __future__ import annotations

import numpy as np
import pandas as pd

from siteopt.synth.demand import _Demand
from siteopt.synth.geography import _ceil_to, _Ids, _ids
from siteopt.synth.phases import _Build
from siteopt.synth.spec import ASSUMPTIONS as A
from siteopt.synth.spec import GeneratorSpec


def _grid_tables(spec: GeneratorSpec, rng: np.random.Generator, ids: _Ids, build: _Build,
                 demand: _Demand, zone: np.ndarray) -> dict[str, pd.DataFrame]:
    """zones, headroom (existing plant plus a growing share of the phases) and upgrades."""
    n_z, n_y = spec.n_zones, spec.years
    existing_power = np.bincount(zone, weights=demand.existing_mw * A.cooling[0][2],
                                 minlength=n_z)
    phase_power = np.bincount(zone, weights=build.site_mw(spec.sites) * A.planning_pue,
                              minlength=n_z)
    derate = np.where(rng.random(n_z) < A.derated_zone_share,
                      np.round(rng.uniform(*A.derate, n_z), 2), 1.0)
    tariff = np.round(rng.uniform(*A.tariff_factor, n_z), 2)
    short = rng.random(n_z) < spec.short_zone_share
    start = rng.uniform(*A.headroom_first_share, n_z)
    end = np.where(short, rng.uniform(*A.headroom_last_share_short, n_z),
                   rng.uniform(*A.headroom_last_share, n_z))
    frac = (start[:, None] + (end - start)[:, None] * np.arange(n_y)[None, :] / (n_y - 1)
            if n_y > 1 else end[:, None])
    # derated headroom always carries the existing plant (else the instance is infeasible)
    headroom = _ceil_to((existing_power[:, None] * A.existing_power_margin
                         + phase_power[:, None] * frac)
                        / derate[:, None], A.headroom_step_mw)
    upgrade = rng.random(n_z) < np.where(short, A.short_zone_upgrade_probability,
                                         spec.upgrade_share)
    add_mw = np.maximum(np.round(phase_power * rng.uniform(*A.upgrade_share_of_phases, n_z)),
                        A.upgrade_min_mw)
    up_capex = np.round(add_mw * rng.uniform(*A.upgrade_usd_m_per_mw, n_z), 1)
    up_lead = np.minimum(rng.choice(list(A.upgrade_lead_months), size=n_z), 12 * (n_y - 1))
    up_zones = np.flatnonzero(upgrade)
    return {
        "zones": pd.DataFrame({
            "zone": ids.zone, "name": [f"Grid zone {i + 1}" for i in range(n_z)],
            "derate": derate, "tariff_factor": tariff,
        }),
        "headroom": pd.DataFrame({
            "zone": np.repeat(ids.zone, n_y),
            "year": np.tile(np.arange(spec.first_year, spec.last_year + 1), n_z),
            "headroom_mw": headroom.ravel(),
        }),
        "upgrades": pd.DataFrame({
            "upgrade": _ids("u", len(up_zones), 3), "zone": [ids.zone[z] for z in up_zones],
            "add_mw": add_mw[up_zones], "capex_usd_m": up_capex[up_zones],
            "lead_months": up_lead[up_zones].astype(int),
        }),
    }
