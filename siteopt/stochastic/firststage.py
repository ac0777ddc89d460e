r"""Here-and-now decisions: what starts construction (or spending) by the decision year.

A phase $(s,p)$ with cooling $k$ that comes online in year $y$ with lead $\ell_{sp}$ starts
construction in $y-\ell_{sp}$ (the first year of its spend years; $y$ itself for a zero lead);
an upgrade likewise. The first stage is keyed on that *start* year, not the online year, so that
a scenario in which lead times are longer still shares the decision to start: "started by
year $t$" is `online[s,p,k,t+lead]` (cumulative) in each scenario's own lead time. A site's
spending starts with its first phase, so sites need no key of their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import pandas as pd

from siteopt.model.data import ModelData

#: (site, phase, cooling, start year t): phase started by t with that cooling
PhaseKey = tuple[str, str, str, int]
#: (upgrade, start year t): upgrade started by t
UpgradeKey = tuple[str, int]


class Start(NamedTuple):
    """One here-and-now commitment: start `kind` ('phase' or 'upgrade') in `year`."""

    kind: str
    site: str
    phase: str
    cooling: str
    upgrade: str
    year: int


FirstStage = frozenset[Start]


def phase_starts(d: ModelData, decision_year: int) -> dict[PhaseKey, tuple[str, str, str, int]]:
    """(s,p,k,t) -> the `online` index (s,p,k,t+lead) meaning "started by t", t <= decision year.

    Committed phases are data, not decisions, and have no key. A start whose online year is
    outside the phase's variables (before it may start, or after the horizon) has no entry.
    """
    keys = set(d.SPKY)
    out: dict[PhaseKey, tuple[str, str, str, int]] = {}
    for s, p, k, y in d.SPKY:
        if (s, p) in d.phase_committed:
            continue
        t = y - d.phase_lead[s, p]
        if d.first_year <= t <= decision_year and (s, p, k, y) in keys:
            out[s, p, k, t] = (s, p, k, y)
    return out


def upgrade_starts(d: ModelData, decision_year: int) -> dict[UpgradeKey, tuple[str, int]]:
    """(u,t) -> the `upgrade` index (u,t+lead) meaning "started by t", t <= decision year."""
    out: dict[UpgradeKey, tuple[str, int]] = {}
    for u, y in d.UY:
        t = y - d.upgrade_lead[u]
        if d.first_year <= t <= decision_year:
            out[u, t] = (u, y)
    return out


def first_stage_of(tables: dict[str, pd.DataFrame], d: ModelData, decision_year: int
                   ) -> FirstStage:
    """The commitments of a plan (its result tables): starts on or before the decision year."""
    out: set[Start] = set()
    for s, p, k, y, committed in tables["schedule"][
            ["site", "phase", "cooling", "online_year", "committed"]].itertuples(index=False):
        t = int(y) - d.phase_lead[s, p]
        if not committed and t <= decision_year:
            out.add(Start("phase", s, p, k, "", t))
    for u, y in tables["upgrades"][["upgrade", "online_year"]].itertuples(index=False):
        t = int(y) - d.upgrade_lead[u]
        if t <= decision_year:
            out.add(Start("upgrade", "", "", "", u, t))
    return frozenset(out)


def started_values(fs: FirstStage, phase_keys: Iterable[PhaseKey],
                   upgrade_keys: Iterable[UpgradeKey]) -> tuple[dict[PhaseKey, int],
                                                                 dict[UpgradeKey, int]]:
    """The cumulative 0/1 value of every first-stage key under the commitments `fs`."""
    phase_year = {(c.site, c.phase, c.cooling): c.year for c in fs if c.kind == "phase"}
    upgrade_year = {c.upgrade: c.year for c in fs if c.kind == "upgrade"}
    phases = {key: int(key[:3] in phase_year and phase_year[key[:3]] <= key[3])
              for key in phase_keys}
    upgrades = {key: int(key[0] in upgrade_year and upgrade_year[key[0]] <= key[1])
                for key in upgrade_keys}
    return phases, upgrades


def commitments_frame(fs: FirstStage) -> pd.DataFrame:
    """The commitments as a table: kind, site, phase, cooling, upgrade, construction_start."""
    rows = sorted(fs, key=lambda c: (c.year, c.kind, c.site, c.phase, c.upgrade))
    return pd.DataFrame([{"kind": c.kind, "site": c.site, "phase": c.phase,
                          "cooling": c.cooling, "upgrade": c.upgrade,
                          "construction_start": c.year} for c in rows],
                        columns=["kind", "site", "phase", "cooling", "upgrade",
                                 "construction_start"])


def describe(c: Start) -> str:
    """A commitment in words, e.g. 'shtp/p2 (air) starts 2027'."""
    if c.kind == "phase":
        return f"{c.site}/{c.phase} ({c.cooling}) starts {c.year}"
    return f"upgrade {c.upgrade} starts {c.year}"
