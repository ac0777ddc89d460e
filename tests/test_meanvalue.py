"""The mean-value instance of a scenario set: hand-checked means of cells, empty or not.

Two scenarios of `tiny/cheapest-site` with probabilities 1/4 and 3/4; every expected number
is worked out by hand in the test.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from siteopt.data.instance import Instance
from siteopt.data.load import load_instance
from siteopt.data.overrides import apply_overrides
from siteopt.errors import InputError
from siteopt.stochastic.meanvalue import mean_instance
from tests.conftest import TINY

P = [0.25, 0.75]


@pytest.fixture(scope="module")
def scenarios() -> list[Instance]:
    """Scenario 1 gives A a latitude, a cap and an explicit fixed O&M; scenario 2 does not."""
    base = load_instance(TINY / "cheapest-site")
    one = apply_overrides(base, {"sites[site=A].lat": "10", "sites[site=A].max_it_mw": "50",
                                 "phases[site=A].fixed_om_usd_m_per_year": "4",
                                 "economics.fixed_om_share": "0.02"})
    two = apply_overrides(base, {"sites[site=B].open_cost_usd_m.scale": "2",
                                 "economics.fixed_om_share": "0.02"})
    return [one, two]


def _cell(inst: Instance, table: str, site: str, column: str) -> float:
    frame = inst.table(table)
    return float(frame.loc[frame["site"] == site, column].iloc[0])


def test_a_cell_given_in_every_scenario_is_the_weighted_mean(scenarios):
    mean = mean_instance(scenarios, P)
    assert _cell(mean, "sites", "B", "open_cost_usd_m") == pytest.approx(0.25 * 5 + 0.75 * 10)
    assert mean.meta.economics.fixed_om_share == pytest.approx(0.02)


def test_an_empty_cell_is_averaged_as_what_it_stands_for(scenarios):
    mean = mean_instance(scenarios, P)
    # lat is not given in scenario 2: the mean of the scenarios that give it
    assert _cell(mean, "sites", "A", "lat") == pytest.approx(10.0)
    assert math.isnan(_cell(mean, "sites", "B", "lat"))  # given in none: stays empty
    # empty fixed O&M is fixed_om_share x capex = 0.02 x 100 = 2 in scenario 2
    assert _cell(mean, "phases", "A", "fixed_om_usd_m_per_year") == pytest.approx(
        0.25 * 4 + 0.75 * 2)
    assert math.isnan(_cell(mean, "phases", "B", "fixed_om_usd_m_per_year"))
    # empty max_it_mw is no cap in scenario 2, so the mean has no cap either
    assert math.isnan(_cell(mean, "sites", "A", "max_it_mw"))


def test_rows_are_matched_by_key_not_position(scenarios):
    one, two = scenarios
    sites = two.tables["sites"].iloc[::-1].reset_index(drop=True)
    flipped = dataclasses.replace(two, tables={**two.tables, "sites": sites})
    mean = mean_instance([one, flipped], P)
    assert _cell(mean, "sites", "B", "open_cost_usd_m") == pytest.approx(8.75)
    assert _cell(mean, "sites", "A", "open_cost_usd_m") == pytest.approx(10.0)


def test_a_row_in_only_some_scenarios_is_an_input_error(scenarios):
    one, two = scenarios
    phases = two.tables["phases"].iloc[:1]
    fewer = dataclasses.replace(two, tables={**two.tables, "phases": phases})
    with pytest.raises(InputError, match=r"phases\.csv.*same rows.*B/P1"):
        mean_instance([one, fewer], P)


def test_many_scenarios_keep_a_common_value_exactly():
    """A hundred probabilities of 0.01 sum to 1 + 2e-16: the mean of 1.0 must stay 1.0."""
    from siteopt.stochastic.meanvalue import _weighted_mean

    p = np.full(100, 0.01)
    stack = np.column_stack([np.ones(100), np.full(100, 0.85), np.r_[np.full(99, 2.0), np.inf]])
    mean = _weighted_mean(stack, p)
    assert mean[0] == 1.0 and mean[1] == 0.85 and mean[2] == np.inf


def test_the_mean_of_a_hundred_sampled_vietnam_scenarios_is_a_valid_instance():
    """The benchmark's 100-scenario set failed here once: derates of 1 averaged above 1."""
    from siteopt.stochastic.sample import sampled_scenarios
    from siteopt.stochastic.spec import scenario_instances

    inst = load_instance()
    sset = sampled_scenarios(inst, 100, 2026, 2027)
    mean = mean_instance(scenario_instances(inst, sset), sset.probabilities)
    derate = mean.table("zones")["derate"]
    assert ((derate > 0) & (derate <= 1)).all()
