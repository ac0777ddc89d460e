"""Scenario sets made from a few uncertain drivers, in the override vocabulary.

`grid_delay` writes "the grid of these zones arrives `years` late" as overrides: each zone's
headroom in year y becomes the listed headroom of year y - years (the first years keep the
first listed value), and the zones' upgrades take `years` x 12 months longer.
`sampled_scenarios` draws a reproducible set (a seed) of AI-demand scales, northern-grid delays
and tariff factors with equal probabilities: the 100-scenario benchmark.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from siteopt.data.instance import Instance
from siteopt.stochastic.spec import ScenarioSet, ScenarioSpec

#: The northern zones of `vietnam-2026`.
NORTH = ("hanoi_west", "bac_ninh")


def grid_delay(inst: Instance, zones: Sequence[str], years: int) -> list[tuple[str, str]]:
    """Overrides that delay the headroom path and upgrades of `zones` by `years`."""
    if years <= 0:
        return []
    out: list[tuple[str, str]] = []
    head = inst.table("headroom")
    for zone in zones:
        rows = head[head["zone"] == zone].sort_values("year")
        by_year = dict(zip(rows["year"].astype(int), rows["headroom_mw"].astype(float),
                           strict=True))
        first = min(by_year)
        for y in sorted(by_year):
            value = by_year.get(y - years, by_year[first])
            if value != by_year[y]:
                out.append((f"headroom[zone={zone},year={y}].headroom_mw", f"{value:g}"))
    ups = inst.table("upgrades")
    mine = [z for z in zones if (ups["zone"] == z).any()]
    if mine:
        out.append((f"upgrades[zone={'|'.join(mine)}].lead_months.add", str(12 * years)))
    return out


def sampled_scenarios(inst: Instance, n: int, seed: int, decision_year: int) -> ScenarioSet:
    """`n` equally likely scenarios drawn with `seed`.

    AI demand x lognormal(0, 0.3), northern grid 0-3 years late (probabilities
    0.4/0.3/0.2/0.1), tariff x uniform(0.9, 1.3).
    """
    rng = np.random.default_rng(seed)
    tariff = inst.meta.economics.tariff_usd_per_mwh
    specs = []
    for i in range(n):
        ai = float(np.exp(rng.normal(0.0, 0.3)))
        late = int(rng.choice(4, p=[0.4, 0.3, 0.2, 0.1]))
        factor = float(rng.uniform(0.9, 1.3))
        sets = [("demand[class=ai].scale", f"{ai:.4f}"),
                ("economics.tariff_usd_per_mwh", f"{tariff * factor:.3f}")]
        sets += grid_delay(inst, NORTH, late)
        specs.append(ScenarioSpec(id=f"s{i:03d}", probability=1.0 / n, overrides=tuple(sets),
                                  description=f"ai x{ai:.2f}, north {late} y late, tariff "
                                  f"x{factor:.2f}"))
    # equal probabilities that sum to 1 exactly in floating point
    probs = [1.0 / n] * n
    probs[-1] = 1.0 - sum(probs[:-1])
    specs = [ScenarioSpec(s.id, p, s.overrides, s.description) for s, p in zip(specs, probs,
                                                                                strict=True)]
    return ScenarioSet(decision_year=decision_year, scenarios=tuple(specs),
                       path=f"sampled(n={n}, seed={seed})")


def to_toml(sset: ScenarioSet, header: str = "") -> str:
    """A scenario file's text for `sset`."""
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    lines += [f"decision_year = {sset.decision_year}", ""]
    if sset.risk.active:
        lines += ["[risk]", f"alpha = {sset.risk.alpha!r}", f"weight = {sset.risk.weight!r}", ""]
    for s in sset.scenarios:
        lines += ["[[scenario]]", f'id = "{s.id}"', f"probability = {s.probability!r}"]
        if s.description:
            lines.append(f'description = "{s.description}"')
        lines.append("set = [" + ", ".join(f'"{k}={v}"' for k, v in s.overrides) + "]")
        lines.append("")
    return "\n".join(lines)
