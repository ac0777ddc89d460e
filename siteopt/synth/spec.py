"""What the generator makes (`GeneratorSpec`, presets) and what it assumes (`Assumptions`).

Every number the generator assumes when drawing lives in `Assumptions`, in one place.

The rules these numbers feed are described in the docstring of `siteopt.synth.generate`,
which writes them into each generated folder's README.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace

#: Demand classes in the order `classes` takes them: (id, name, cooling, reach knob).
CLASSES = (
    ("sens", "Latency-sensitive (finance, government, edge cloud)", "", "reach_tight"),
    ("flex", "Latency-tolerant (enterprise cloud, storage, backup)", "", "reach_loose"),
    ("ai", "AI training / GPU clusters", "dlc|immersion", "reach_loose"),
)
#: Site kinds: air-only, mixed (air first, liquid later), liquid-only.
AIR, MIXED, LIQUID = 0, 1, 2

Range = tuple[float, float]


@dataclass(frozen=True)
class Assumptions:
    """Every number the generator assumes, with its unit.

    Ranges are (low, high) of a uniform draw; tuples of choices are drawn with the matching
    shares (or evenly).

    Changing one changes every generated instance (and breaks byte-identical regeneration
    of earlier folders), so they are fixed here rather than knobs of `GeneratorSpec`.
    """

    # -- geography
    #: km per degree of latitude is derived from this Earth radius (km).
    earth_radius_km: float = 6371.0
    #: metro weights 1 / k^exponent (Zipf-like populations).
    metro_zipf_exponent: float = 0.8
    #: metro spread (km): sigma of the normal scatter of its regions.
    metro_spread_km: Range = (30.0, 90.0)
    #: sites scatter with this multiple of their metro's spread.
    site_spread_factor: float = 1.3
    #: sites beyond one per metro go to metros by weight^exponent.
    site_weight_exponent: float = 0.7
    # -- fiber
    #: one extra backbone hub per this many regions and sites.
    points_per_hub: int = 25
    #: extra hubs are jittered this far (km) from the region or site they copy.
    hub_jitter_km: float = 10.0
    #: each hub also links to this many nearest hubs (beside the spanning tree).
    nearest_hubs: int = 2
    #: probability that a region or site also links to its second-nearest hub.
    second_access_probability: float = 0.3
    #: shortest link (km); link lengths are rounded to 0.1 km.
    min_link_km: float = 0.1
    # -- sites and phases
    #: shares of air-only, mixed and liquid sites.
    site_kind_shares: tuple[float, float, float] = (0.3, 0.5, 0.2)
    #: a site's unit phase size (IT MW) and the share of sites with each.
    site_unit_mw: tuple[float, ...] = (5.0, 10.0, 15.0, 20.0, 30.0, 40.0)
    site_unit_shares: tuple[float, ...] = (0.15, 0.25, 0.2, 0.2, 0.12, 0.08)
    #: capex per IT MW of a site's phases (USD M).
    capex_usd_m_per_mw: Range = (7.0, 10.0)
    #: later phases are this multiple of the unit (drawn evenly from the tuple).
    later_phase_scale: tuple[float, ...] = (1.0, 1.0, 1.5, 2.0)
    #: each later phase is this much cheaper per MW (share per phase).
    later_phase_discount: float = 0.03
    #: lead times (months) of first and later phases.
    first_lead_months: tuple[int, ...] = (12, 18, 24)
    later_lead_months: tuple[int, ...] = (6, 12, 18)
    #: longest lead (years), also when AI demand can start; shortened in short horizons.
    max_lead_years: int = 2
    #: opening cost of a new site (USD M) and every site's fixed O&M (USD M a year).
    open_cost_usd_m: Range = (5.0, 25.0)
    site_fixed_om_usd_m: Range = (0.3, 1.5)
    # -- existing plant
    #: share of each metro's first-year demand the existing plant can serve.
    existing_cover: float = 0.9
    #: relative size of the existing plant of each existing site.
    existing_weight: Range = (0.7, 1.3)
    #: least existing plant of an existing site (IT MW).
    existing_min_mw: float = 1.0
    # -- demand
    #: sigma of the lognormal weight of a region (beside its metro's weight).
    region_weight_sigma: float = 0.6
    #: rural regions' weight factor.
    rural_weight: float = 0.3
    #: a region's yearly demand growth.
    demand_growth: Range = (0.08, 0.22)
    #: share of a region's demand that is latency-sensitive.
    sens_share: Range = (0.3, 0.5)
    #: AI demand on top of the other demand: this share in its first year, growing by
    #: `ai_share_growth` to the last year.
    ai_share_first: float = 0.05
    ai_share_growth: float = 0.30
    #: least demand of a row (IT MW).
    demand_min_mw: float = 0.001
    # -- latency
    #: per-region factor on the class's reach quantile.
    target_jitter: Range = (0.85, 1.2)
    #: targets are rounded up to this step (ms).
    target_step_ms: float = 0.1
    # -- grid
    #: headroom is rounded up to this step (facility MW).
    headroom_step_mw: float = 0.1
    #: typical PUE used to size grid headroom against a zone's phases.
    planning_pue: float = 1.3
    #: the existing plant's power is carried by headroom with this margin.
    existing_power_margin: float = 1.02
    #: share of the zones with a summer derate, and its range.
    derated_zone_share: float = 0.3
    derate: Range = (0.85, 0.95)
    #: zone tariff factor.
    tariff_factor: Range = (0.9, 1.15)
    #: headroom for phases, as a share of the zone's phase power: first year, last year,
    #: last year of a short zone.
    headroom_first_share: Range = (0.15, 0.35)
    headroom_last_share: Range = (0.85, 1.2)
    headroom_last_share_short: Range = (0.35, 0.65)
    #: probability that a short zone can buy an upgrade.
    short_zone_upgrade_probability: float = 0.8
    #: an upgrade adds this share of the zone's phase power (at least `upgrade_min_mw`),
    #: for this price per MW (USD M), with one of these leads (months).
    upgrade_share_of_phases: Range = (0.25, 0.5)
    upgrade_min_mw: float = 5.0
    upgrade_usd_m_per_mw: Range = (0.15, 0.4)
    upgrade_lead_months: tuple[int, ...] = (12, 24, 36)
    # -- costs and budgets
    #: serving cost per IT MW-year per route-km (USD M): USD 0.02 M per 1,000 km.
    service_cost_per_km: float = 0.02 / 1000
    #: the need: new capacity's capex x this (cooling) plus this share of all opening costs.
    budget_cooling_factor: float = 1.05
    budget_open_share: float = 0.5
    #: the dearest cooling's capex factor: every budget pays for its cheapest first phase.
    dearest_cooling_factor: float = 1.15
    #: horizon envelope and yearly limits as multiples of the need.
    envelope_factor: float = 1.3
    yearly_factor: float = 1.8
    yearly_jitter: Range = (0.8, 1.2)
    #: a sponsor's horizon budget: this share of its sites' phase capex.
    sponsor_share: Range = (0.5, 0.8)
    #: every budget is at least this multiple of the cheapest first phase in its scope.
    budget_floor: float = 1.25
    # -- settings of every generated instance (the Vietnam instance's, except max_utilization)
    #: cooling technologies (id, name, PUE, capex factor): the Vietnam instance's values.
    cooling: tuple[tuple[str, str, float, float], ...] = (
        ("legacy", "Existing plant (older room-air cooling)", 1.6, 1.0),
        ("air", "Air cooling (chilled water / fan wall)", 1.4, 1.0),
        ("dlc", "Direct-to-chip liquid cooling", 1.2, 1.1),
        ("immersion", "Single-phase immersion cooling", 1.08, 1.15),
    )
    #: economics of every generated instance (the Vietnam instance's).
    economics: dict[str, float] = field(default_factory=lambda: {
        "discount_rate": 0.1, "tariff_usd_per_mwh": 74.7, "tariff_escalation": 0.03,
        "hours_per_year": 8760.0, "it_load_factor": 0.7, "fixed_om_share": 0.025})
    #: unserved demand is allowed and priced (the Vietnam penalty), so every generated
    #: instance is feasible; max_utilization 0.8 is the generator's own (Vietnam: 0.75).
    service: dict[str, object] = field(default_factory=lambda: {
        "allow_unserved": True, "unserved_penalty_usd_m_per_mw_year": 25.0,
        "max_utilization": 0.8, "strong_linking": True})
    #: latency model: 1 ms fixed plus 0.01 ms per route-km (as in the Vietnam instance).
    latency: dict[str, float] = field(default_factory=lambda: {
        "rtt_ms_per_km": 0.01, "rtt_ms_per_hop": 0.0, "rtt_ms_fixed": 1.0})

    @property
    def km_per_degree(self) -> float:
        """Km per degree of latitude (and of longitude at the equator)."""
        return math.pi * self.earth_radius_km / 180


#: The assumptions every generated instance uses.
ASSUMPTIONS = Assumptions()


@dataclass(frozen=True)
class GeneratorSpec:
    """What to generate: sizes, seed and the knobs of the structure (module docstring).

    `clusters` and `zones` of None scale with the size: max(1, round(sqrt(regions) / 2))
    metros and ceil(sites / 4) zones.
    """

    sites: int
    regions: int
    years: int
    seed: int = 0
    first_year: int = 2026
    classes: int = 3
    clusters: int | None = None
    zones: int | None = None
    sponsors: int = 4
    phases_min: int = 2
    phases_max: int = 4
    reach_tight: float = 0.08
    reach_loose: float = 0.2
    min_reach: int = 3
    capacity_ratio: float = 1.6
    existing_share: float = 0.2
    short_zone_share: float = 0.3
    upgrade_share: float = 0.5
    rural_share: float = 0.1
    ai_region_share: float = 0.4
    route_factor: float = 1.3
    box: tuple[float, float, float, float] = (8.0, 24.0, 100.0, 112.0)

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ValueError("; ".join(problems))

    def problems(self) -> list[str]:
        """What is wrong with the spec, one sentence per knob (empty: valid)."""
        out = []

        def need(ok: bool, text: str) -> None:
            if not ok:
                out.append(text)

        need(self.sites >= 1, f"sites must be at least 1, got {self.sites}")
        need(self.regions >= 1, f"regions must be at least 1, got {self.regions}")
        need(self.years >= 1, f"years must be at least 1, got {self.years}")
        need(self.seed >= 0, f"seed must be >= 0, got {self.seed}")
        need(self.first_year >= 1900 and self.last_year <= 2200,
             f"the horizon {self.first_year}-{self.last_year} must lie within 1900-2200")
        need(1 <= self.classes <= len(CLASSES),
             f"classes must be from 1 to {len(CLASSES)}, got {self.classes}")
        need(self.clusters is None or self.clusters >= 1,
             f"clusters must be at least 1, got {self.clusters}")
        need(self.zones is None or 1 <= self.zones <= self.sites,
             f"zones must be from 1 to the number of sites, got {self.zones}")
        need(self.sponsors >= 1, f"sponsors must be at least 1, got {self.sponsors}")
        need(1 <= self.phases_min <= self.phases_max <= 9,
             f"phases must satisfy 1 <= phases_min <= phases_max <= 9, got "
             f"{self.phases_min}-{self.phases_max}")
        need(0 < self.reach_tight <= self.reach_loose <= 1,
             f"reach shares must satisfy 0 < reach_tight <= reach_loose <= 1, got "
             f"{self.reach_tight}, {self.reach_loose}")
        need(self.min_reach >= 1, f"min_reach must be at least 1, got {self.min_reach}")
        need(1 < self.capacity_ratio <= 10,
             f"capacity_ratio must be > 1 and <= 10, got {self.capacity_ratio}")
        for name in ("existing_share", "short_zone_share", "upgrade_share", "rural_share",
                     "ai_region_share"):
            value = getattr(self, name)
            need(0 <= value <= 1, f"{name} must be from 0 to 1, got {value}")
        need(1 <= self.route_factor <= 5,
             f"route_factor must be from 1 to 5, got {self.route_factor}")
        lat0, lat1, lon0, lon1 = self.box
        need(-80 <= lat0 < lat1 <= 80 and -180 <= lon0 < lon1 <= 180,
             f"box must be (lat_min, lat_max, lon_min, lon_max) within +-80 N, +-180 E, "
             f"got {self.box}")
        return out

    @property
    def n_clusters(self) -> int:
        """Metro centres: `clusters`, or about sqrt(regions) / 2."""
        if self.clusters is not None:
            return self.clusters
        return max(1, round(math.sqrt(self.regions) / 2))

    @property
    def n_zones(self) -> int:
        """Grid zones: `zones`, or one per four sites."""
        return self.zones if self.zones is not None else math.ceil(self.sites / 4)

    @property
    def last_year(self) -> int:
        """Last year of the horizon."""
        return self.first_year + self.years - 1

    def changed(self) -> dict[str, object]:
        """The knobs that differ from their defaults (sizes always included)."""
        out: dict[str, object] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("sites", "regions", "years", "seed") or value != f.default:
                out[f.name] = value
        return out


#: Named sizes, from a one-second solve to benchmark scale (model variables in README.md).
PRESETS: dict[str, GeneratorSpec] = {
    "tiny": GeneratorSpec(sites=5, regions=10, years=3),
    "small": GeneratorSpec(sites=15, regions=40, years=5),
    "medium": GeneratorSpec(sites=50, regions=200, years=8),
    "large": GeneratorSpec(sites=120, regions=500, years=10),
    "400k": GeneratorSpec(sites=150, regions=640, years=12),
    "xl": GeneratorSpec(sites=300, regions=1000, years=15),
}


def preset(name: str, **changes: object) -> GeneratorSpec:
    """The preset `name` with some knobs changed (e.g. seed, sizes)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; one of {', '.join(PRESETS)}")
    return replace(PRESETS[name], **changes)  # type: ignore[arg-type]
