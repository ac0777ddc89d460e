"""The elastic copy of the build-out model: hard limits become priced violations.

Used to explain an infeasible instance. The model of `build.create_model` is built on the
instance with its latency targets lifted (so every connected pair has a `serve` variable)
and unserved demand allowed, then changed here without touching `build.py`:

* each row of `grid_headroom`, `budget` and `site_max_capacity` is replaced by the same row
  with a non-negative slack on its limit (`<family>_slack`), the original row deactivated;
* `serve` over a pair beyond its original latency target is priced, and so are the
  resilience rules' use of such a pair (an N-1 `backup` from it, a `geo_pick` counting it);
* unserved demand is priced when the instance forbids it;
* the objective becomes the weighted sum of these violations (`violation`); costs are ignored.

The elastic model is always feasible (building nothing but the committed phases violates
only priced limits), and its optimum is the smallest weighted set of violations that makes
a plan possible. Weights (`ElasticWeights`) put everything on an IT MW-year scale: a MW of
headroom, cap or latency violated for a year weighs 1, a budget shortfall the price of one
MW (the instance's median phase capex per IT MW) weighs 1, and a MW of demand left unserved
for a year weighs 100, so that the explanation names the limit that stops a plan rather
than the demand that the limit leaves unserved. No fixed weight achieves that when a whole
phase must break a limit for a little demand, so `siteopt.solver.explain` first finds the
least demand no relaxation can serve and caps unserved demand at it.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import pyomo.environ as pyo

from siteopt.model.data import ModelData

#: Constraint families whose rows get a slack, and the weight attribute pricing it.
SLACKED = {"grid_headroom": "headroom", "budget": "budget", "site_max_capacity": "site_cap"}


@dataclass(frozen=True)
class ElasticWeights:
    """Price of each kind of violation in the elastic objective (see the module docstring)."""

    unserved: float = 100.0  # per IT MW-year of demand left unserved (when forbidden)
    headroom: float = 1.0  # per facility MW-year over a zone's limit
    site_cap: float = 1.0  # per IT MW-year over a site's max_it_mw
    latency: float = 1.0  # per IT MW-year served from beyond the latency target
    budget: float = 0.1  # per USD M over a budget row

    @classmethod
    def for_data(cls, d: ModelData) -> ElasticWeights:
        """Weights with the budget priced at one MW's worth of the instance's phases."""
        per_mw = [d.phase_capex[sp] / d.phase_it[sp] for sp in d.SP
                  if d.phase_it[sp] > 0 and d.phase_capex[sp] > 0]
        usd_m_per_mw = statistics.median(per_mw) if per_mw else 1.0
        return cls(budget=1.0 / usd_m_per_mw)


def over_target(d: ModelData, targets: dict[tuple[str, str], float],
                after_cut: dict[tuple[str, str], float] | None = None,
                cut_classes: frozenset[str] = frozenset(),
                ) -> dict[tuple[str, str, str, int], tuple[float, float]]:
    """Serve keys whose pair is beyond the original latency target: key -> (rtt, target).

    For a class under `n_minus_1_links` (`cut_classes`) the target must hold after the
    worst single fibre cut, so the round trip compared (and returned) is `after_cut`'s
    (inf: some single cut leaves no route); the hard model prunes those pairs the same way
    (`siteopt.model.data.allowed_pairs`). Without it the elastic copy, whose targets are
    lifted, would serve such pairs for free and find no violation in an infeasible instance.
    """
    out = {}
    for key in d.SRCY:
        s, r, c, _y = key
        target = targets.get((r, c))
        rtt = d.latency.get((s, r))
        if c in cut_classes and after_cut is not None and rtt is not None and rtt == rtt:
            rtt = after_cut.get((s, r), rtt)
        if target is not None and rtt is not None and rtt == rtt and rtt > target + 1e-9:
            out[key] = (rtt, target)
    return out


def make_elastic(m: pyo.ConcreteModel, d: ModelData, weights: ElasticWeights,
                 price_unserved: bool,
                 beyond_target: dict[tuple[str, str, str, int], tuple[float, float]]) -> None:
    """Turn the built model `m` into its elastic copy, in place (see the module docstring)."""
    terms = []
    for family, kind in SLACKED.items():
        con = getattr(m, family, None)
        if con is None:
            continue
        keys = [k for k in con if con[k].active and con[k].has_ub()]
        if not keys:
            continue
        index = pyo.Set(initialize=keys, ordered=True, dimen=None)
        m.add_component(f"{family}_slack_index", index)
        slack = pyo.Var(index, within=pyo.NonNegativeReals)
        m.add_component(f"{family}_slack", slack)

        def rule(_m: pyo.ConcreteModel, *k: object, con: pyo.Constraint = con,
                 slack: pyo.Var = slack) -> object:
            key = k[0] if len(k) == 1 else k
            return con[key].body - slack[key] <= con[key].upper

        m.add_component(f"{family}_elastic", pyo.Constraint(index, rule=rule))
        con.deactivate()
        w = getattr(weights, kind)
        terms.append(pyo.quicksum(w * slack[k] for k in keys))
    if price_unserved:
        terms.append(pyo.quicksum(weights.unserved * m.unserved[k] for k in d.RCY))
    if beyond_target:
        terms.append(pyo.quicksum(weights.latency * m.serve[k] for k in beyond_target))
        terms += _beyond_target_resilience(m, d, weights, beyond_target)
    for objective in list(m.component_objects(pyo.Objective, active=True)):
        objective.deactivate()  # whichever objective the model was built with
    m.violation = pyo.Objective(expr=pyo.quicksum(terms) if terms else 0.0, sense=pyo.minimize)


def _beyond_target_resilience(m: pyo.ConcreteModel, d: ModelData, weights: ElasticWeights,
                              beyond_target: dict[tuple[str, str, str, int], tuple[float, float]],
                              ) -> list[object]:
    """Prices on the resilience rules' use of a site beyond its latency target.

    N-1 site loss (`backup[o,s,r,c,y]`) and geo-redundancy (`geo_pick[s,r,c,y]`) range over
    the allowed pairs, which the lifted targets widen: unpriced, a site beyond the target
    would back up a failed site, or count toward `min_sites`, for free, and an instance
    infeasible for want of a site within target would have a violation-free elastic plan
    (explained as feasible). A MW backed up from beyond the target weighs as one served
    from there (`latency`); a site counted from beyond weighs as if it served all of the
    region's demand of that class and year.
    """
    terms: list[object] = []
    backup = getattr(m, "backup", None)
    if backup is not None:
        keys = [k for k in backup if k[1:] in beyond_target]
        if keys:
            terms.append(pyo.quicksum(weights.latency * backup[k] for k in keys))
    pick = getattr(m, "geo_pick", None)
    if pick is not None:
        keys = [k for k in pick if k in beyond_target]
        if keys:
            terms.append(pyo.quicksum(weights.latency * d.demand[k[1], k[2], k[3]] * pick[k]
                                      for k in keys))
    return terms


def slack_values(m: pyo.ConcreteModel, family: str) -> dict[object, float]:
    """Positive slack values of a family after a solve, by the original row's index."""
    slack = getattr(m, f"{family}_slack", None)
    if slack is None:
        return {}
    return {k: float(slack[k].value) for k in slack if (slack[k].value or 0.0) > 0}
