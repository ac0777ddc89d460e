"""The resilience parameters of the model (`[resilience.CLASS]`, models/siteplan.md §8).

Plain data derived once from the instance: per class the geo-redundancy settings (k, from
which year, distinct zones, minimum distance) and the N-1 site-loss switch, plus the
great-circle distances between sites where a minimum distance is asked for. The N-1 fibre
cut needs nothing here: it prunes the allowed pairs (`siteopt.model.data.allowed_pairs`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from siteopt.data.instance import Instance
from siteopt.data.resilience import site_distances


@dataclass(frozen=True)
class ResilienceData:
    """Geo-redundancy and N-1 site-loss settings per class, with site distances."""

    #: class -> k (min_sites) for the classes with k >= 2
    geo_k: dict[str, int] = field(default_factory=dict)
    #: class -> first year the geo-redundancy rule applies
    geo_from: dict[str, int] = field(default_factory=dict)
    #: classes whose k sites must lie in pairwise different zones
    geo_zones: frozenset[str] = frozenset()
    #: class -> minimum km between the k sites (only classes with a positive distance)
    geo_km: dict[str, float] = field(default_factory=dict)
    #: great-circle km between sites (both orders), where some class asks for a distance
    site_km: dict[tuple[str, str], float] = field(default_factory=dict)
    #: classes with N-1 site loss
    n1_sites: frozenset[str] = frozenset()

    @property
    def active(self) -> bool:
        """Whether any resilience family is added to the model."""
        return bool(self.geo_k or self.n1_sites)


def resilience_data(inst: Instance) -> ResilienceData:
    """The resilience settings of `inst` in the model's terms."""
    rules = inst.meta.resilience
    y0 = inst.meta.horizon.first_year
    geo = {c: r for c, r in rules.items() if r.min_sites >= 2}
    geo_km = {c: r.min_km_apart for c, r in geo.items() if r.min_km_apart > 0}
    return ResilienceData(
        geo_k={c: r.min_sites for c, r in geo.items()},
        geo_from={c: y0 if r.from_year is None else r.from_year for c, r in geo.items()},
        geo_zones=frozenset(c for c, r in geo.items() if r.distinct_zones),
        geo_km=geo_km,
        site_km=site_distances(inst.tables["sites"]) if geo_km else {},
        n1_sites=frozenset(c for c, r in rules.items() if r.n_minus_1_sites),
    )
