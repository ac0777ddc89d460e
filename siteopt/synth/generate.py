"""Seeded synthetic instances (`siteopt generate`): realistic structure at any size.

The generator imitates the structure of `instances/vietnam-2026/` so that its instances
exercise the model as real ones do, from a few sites up to benchmark sizes:

- **Metros.** `clusters` metro centres are drawn in a lat/lon `box` (default 8-24 N, 100-112
  E: Vietnam and its neighbours), with Zipf-like weights 1 / k^0.8 (population) and a spread
  of 30-90 km. Demand regions scatter around the centres (normal, sigma = the spread), a
  share `rural_share` uniformly over the box; candidate sites scatter around the centres too
  (sigma 1.3 x the spread), one per metro first (largest first), the rest by weight^0.7.
- **Fiber.** Backbone hubs sit at the metro centres plus one per 25 regions and sites (at
  the positions of randomly drawn regions and sites, jittered by 10 km). Hubs are joined by
  a minimum spanning tree plus each hub's two nearest hubs (connected, sparse); every region
  and site node attaches to its nearest hub and, with probability 0.3, to its second
  nearest. A link's km is the great-circle distance x `route_factor`, rounded to 0.1 km (at
  least 0.1). Round trip = 1 ms + 0.01 ms per route-km (as in the Vietnam instance).
- **Sites and phases.** Each site has `phases_min`-`phases_max` phases of 5-80 IT MW (a site
  unit of 5-40 MW, later phases up to 2x), USD 7-10 M per IT MW (3 % cheaper per later
  phase), lead times of 12-24 months for the first phase and 6-18 for later ones (shortened
  so every phase fits in the horizon: at most 12 x (years - 1) months). A site is air-only
  (30 %), mixed (50 %: first phase air, later air|dlc, the last also immersion) or liquid
  (20 %: dlc|immersion). The most central site of every metro, and more in the largest
  metros up to a share `existing_share` of the sites (none if it is 0), has existing
  legacy-cooled capacity whose sellable part serves 90 % of its metro's first-year demand
  (metros without a site hand theirs to the largest one with a site). New sites cost USD
  5-25 M to open; every site USD 0.3-1.5 M a year to run; max_it_mw is existing + every
  phase.
- **Cooling.** legacy (PUE 1.6, not buildable; only with existing capacity), air (1.4, capex
  x 1.0), dlc (1.2, x 1.1), immersion (1.08, x 1.15): the Vietnam values.
- **Grid.** `zones` zones (default one per four sites) group nearby sites (each site joins
  the nearest of randomly drawn zone seeds). A zone's headroom carries its existing plant
  plus a share of its phases' facility MW (at PUE 1.3) that grows linearly from 15-35 % in
  the first year to 85-120 % in the last; a share `short_zone_share` of the zones ends at
  35-65 % only (short of headroom). 30 % of the zones have a summer derate of 0.85-0.95.
  Short zones get an upgrade with probability 0.8, the others with `upgrade_share`: +25-50 %
  of the zone's phase power for USD 0.15-0.4 M per MW, 12-36 months' lead.
- **Demand.** `classes` classes out of sens (latency-sensitive, any cooling), flex
  (latency-tolerant, any cooling) and ai (GPU training, dlc|immersion only). Each region has
  a weight (its metro's weight x lognormal; rural regions x 0.3) and its own growth of 8-22
  % a year; sens takes 30-50 % of it, flex the rest. In a share `ai_region_share` of the
  metro regions ai comes on top from the third year (earlier in shorter horizons: once
  liquid-cooled phases can be online), growing from 5 % in its first year to 35 % in the
  last of the region's other demand (with a single ai year, 5 % only: horizons of three
  years or less, the tiny preset's). The peak (last-year) total is set so that
  `capacity_ratio` = sellable capacity (max_utilization x (existing + every phase)) / peak
  demand: capacity is somewhat scarce, the MILP non-trivial.
- **Latency targets.** Per class, a target in ms such that a region reaches about a share
  `reach_tight` (sens) or `reach_loose` (flex, ai) of the sites able to host the class: the
  share's quantile of all site-region round trips, times a jitter of 0.85-1.2 per region,
  raised where needed so every region reaches its `min_reach` nearest hosting sites (and
  flex and ai at least the sens target), rounded up to 0.1 ms. This sparsity keeps the model
  size realistic (the model only creates latency-feasible pairs).
- **Costs and budgets.** Serving costs USD 0.02 M per IT MW-year per 1,000 route-km (the
  Vietnam assumption), for the pairs within the target of a class the region demands and the
  site can host. Budgets: a horizon envelope for all sponsors (1.3 x the need: capex of the
  new capacity the peak needs, x 1.05 for cooling, plus half of all opening costs), a
  yearly all-sponsor limit (1.8 x the need over max(1, years - 1) building years, x
  0.8-1.2), and a horizon budget per
  sponsor (50-80 % of its sites' phase capex); each at least 1.25 x the cheapest first phase
  with its opening cost in its scope. min(`sponsors`, sites) sponsors, each with at
  least one site.
  Economics and latency model as the Vietnam instance; at most 80 % of built IT MW can be
  sold (`max_utilization` 0.8, an assumption of its own: the Vietnam instance sells 75 %);
  unserved demand is allowed at USD 25 M per MW-year, so every generated instance is feasible.
- **Ids and order.** Zero-padded ids (s001, r0001, h001, z001, u001, sp01); regions and
  sites numbered by metro (largest first), then distance from its centre, rural last; rows
  in id order.

Every number is a synthetic assumption: the folder's README.md says so and records the spec
and seed that regenerate it. Only `numpy.random.default_rng(seed)` draws, in a fixed order,
so the same spec writes byte-identical files.

The stages live in their own modules: `spec` (`GeneratorSpec`, the presets, and
`Assumptions`, the one documented home of every number assumed above), `geography` (metros,
regions, sites, fiber, zones), `phases` (phases, cooling, existing plant), `demand` (demand,
latency targets, serving costs, budgets) and `grid` (headroom and upgrades); this module
assembles them and writes the folder.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd

from siteopt.io.folder import write_instance
from siteopt.synth.demand import _budgets, _demand, _demand_tables, _targets
from siteopt.synth.geography import (
    _Ids,
    _ids,
    _metros,
    _network,
    _regions,
    _sites,
    _zones,
    great_circle_km,
)
from siteopt.synth.grid import _grid_tables
from siteopt.synth.phases import _existing_sites, _phases, _site_tables
from siteopt.synth.spec import (
    AIR,
    ASSUMPTIONS,
    CLASSES,
    PRESETS,
    Assumptions,
    GeneratorSpec,
    preset,
)

A = ASSUMPTIONS


# --------------------------------------------------------------------------- tables


def generate_tables(spec: GeneratorSpec) -> tuple[dict[str, object], dict[str, pd.DataFrame]]:
    """The instance of `spec`: metadata (instance.toml) and one DataFrame per table.

    The draws happen in a fixed order from one `default_rng(spec.seed)`, so the result
    depends on the spec alone.
    """
    rng = np.random.default_rng(spec.seed)
    metros = _metros(spec, rng)
    regions = _regions(spec, rng, metros)
    sites = _sites(spec, rng, metros)
    ids = _Ids(
        region=_ids("r", spec.regions, 4), site=_ids("s", spec.sites, 3),
        zone=_ids("z", spec.n_zones, 3), sponsor=_ids("sp", min(spec.sponsors, spec.sites), 2),
        cls=[c[0] for c in CLASSES[:spec.classes]],
        region_name=[("Rural area" if rural else f"Metro {m + 1} district") + f" {i + 1}"
                     for i, (m, rural) in enumerate(zip(regions.metro.tolist(),
                                                        regions.rural.tolist(), strict=True))],
        site_name=[f"Metro {m + 1} campus {i + 1}" for i, m in enumerate(sites.metro.tolist())])
    net = _network(spec, rng, metros, regions, sites, ids)
    build = _phases(spec, rng)
    existing = _existing_sites(spec, metros, sites)
    demand = _demand(spec, rng, metros, regions, sites, build, existing)
    zone = _zones(spec, rng, sites)
    sponsor = rng.permutation(np.resize(np.arange(len(ids.sponsor)), spec.sites))
    hosts = np.ones((spec.sites, spec.classes), bool)
    if spec.classes >= 3:
        hosts[:, 2] = build.kind != AIR
    rtt = A.latency["rtt_ms_fixed"] + A.latency["rtt_ms_per_km"] * net.route_km
    targets = _targets(spec, rng, rtt, hosts)
    open_cost = np.where(existing, 0.0, np.round(rng.uniform(*A.open_cost_usd_m, spec.sites),
                                                  1))

    tables = _site_tables(spec, rng, ids, sites, build, demand.existing_mw, existing, zone,
                          sponsor, open_cost)
    tables |= _grid_tables(spec, rng, ids, build, demand, zone)
    tables |= {"nodes": net.nodes, "links": net.links}
    tables |= _demand_tables(spec, ids, demand, net, rtt, targets, hosts)
    tables["budgets"] = _budgets(spec, rng, demand, build, open_cost, sponsor, ids.sponsor)
    meta = {
        "name": f"synthetic-s{spec.sites}-r{spec.regions}-y{spec.years}-seed{spec.seed}",
        "description": (
            f"Synthetic instance from `siteopt generate` (seed {spec.seed}): {spec.sites} "
            f"sites, {spec.regions} regions in {spec.n_clusters} metros, years "
            f"{spec.first_year}-{spec.last_year}. Every number is a synthetic assumption; "
            "see README.md for the spec that regenerates it."),
        "horizon": {"first_year": spec.first_year, "last_year": spec.last_year},
        "economics": dict(A.economics),
        "service": dict(A.service),
        "latency": dict(A.latency),
    }
    return meta, tables



# --------------------------------------------------------------------------- writing


def readme_text(spec: GeneratorSpec, tables: Mapping[str, pd.DataFrame]) -> str:
    """README.md of a generated folder: all numbers are assumptions; how to regenerate it."""
    changed = spec.changed()
    args = ", ".join(f"{k}={v!r}" for k, v in changed.items())
    default_knobs = set(changed) <= {"sites", "regions", "years", "seed"}
    cli = (f"siteopt generate OUT --sites {spec.sites} --regions {spec.regions} "
           f"--years {spec.years} --seed {spec.seed}")
    rows = "\n".join(f"| `{name}.csv` | {len(frame)} |" for name, frame in tables.items())
    knobs = "\n".join(f"| `{f.name}` | `{getattr(spec, f.name)!r}` |" for f in fields(spec))
    regenerate = (f"```bash\n{cli}\n```\n\nor, in Python:\n\n" if default_knobs else "")
    doc = __doc__ or ""
    rules = doc[doc.index("- **Metros.**"):doc.index("\n\nEvery number")].strip()
    return f"""# Synthetic instance (seed {spec.seed})

**Every number in this folder is a synthetic assumption**, drawn by `siteopt generate`
(`siteopt/synth/generate.py`) from a seeded random generator: no number is sourced or describes a
real site, grid zone, network or market. The structure (metros, fiber backbone, grid zones
with growing headroom, phases, cooling, demand classes with latency targets, budgets)
imitates `instances/vietnam-2026/`, whose economics and cooling values it reuses; the
module docstring of `siteopt/synth/generate.py` states every rule and range.

## Regenerate

The same spec and seed write byte-identical files (with the same siteopt version):

{regenerate}```python
from pathlib import Path
from siteopt.synth.generate import GeneratorSpec, generate_instance
generate_instance(GeneratorSpec({args}), Path("OUT"))
```

## Spec

| knob | value |
|---|---|
{knobs}

Derived: {spec.n_clusters} metros, {spec.n_zones} grid zones, years {spec.first_year}-\
{spec.last_year}.

## How the numbers were drawn

{rules}

## Tables

| file | rows |
|---|---|
{rows}
"""


def write_generated(spec: GeneratorSpec, meta: Mapping[str, object],
                    tables: Mapping[str, pd.DataFrame], out: str | Path) -> Path:
    """Write generated tables, metadata and README.md as one instance folder, atomically.

    An existing folder at `out` is replaced only if it is an instance folder (or empty):
    a mistyped path must not swap out unrelated files (`write_instance`).
    """
    return write_instance(out, meta, tables, readme=readme_text(spec, tables))


def generate_instance(spec: GeneratorSpec, out: str | Path) -> Path:
    """Generate the instance of `spec` and write it to folder `out` (see `write_generated`)."""
    meta, tables = generate_tables(spec)
    return write_generated(spec, meta, tables, out)


__all__ = [
    "ASSUMPTIONS",
    "PRESETS",
    "Assumptions",
    "GeneratorSpec",
    "generate_instance",
    "generate_tables",
    "great_circle_km",
    "preset",
    "readme_text",
    "write_generated",
]
