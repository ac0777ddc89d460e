"""Writing a two-stage result folder, atomically (complete or absent).

OUT/summary.json               expected_cost, evpi, vss, risk figures, scenarios list, ...
OUT/commitments.csv            here-and-now commitments (construction starts by the decision year)
OUT/commitment_changes.csv     commitments that differ from the deterministic plan's
OUT/scenario_costs.csv         per scenario: probability, cost, wait-and-see, mean-value plan, ...
OUT/history.csv                decomposition: bound and incumbent over time
OUT/scenarios/<id>/            each scenario's adapted plan: an ordinary result folder
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from siteopt.io.write import RESULT_FOLDER, atomic_dir, json_safe, write_result
from siteopt.stochastic.result import StochasticResult


def write_stochastic(result: StochasticResult, out: str | Path) -> Path:
    """Write the result folder of a two-stage solve into `out`.

    An existing `out` is replaced only if it is a result folder or empty (`check_replaceable`).
    """
    out = Path(out)
    with atomic_dir(out, RESULT_FOLDER) as tmp:
        frames = {"commitments": result.commitments(),
                  "commitment_changes": result.commitment_changes(),
                  "scenario_costs": result.distribution()}
        if result.history:
            frames["history"] = pd.DataFrame(result.history)
        for name, frame in frames.items():
            frame.to_csv(tmp / f"{name}.csv", index=False, float_format="%.9g",
                         lineterminator="\n")
        folder = tmp / "scenarios"
        folder.mkdir()
        for spec, plan in zip(result.scenario_set.scenarios, result.plans, strict=False):
            write_result(plan, folder / spec.id, extra_json={"scenario": {
                "id": spec.id, "probability": spec.probability, "set": list(spec.overrides),
                "decision_year": result.scenario_set.decision_year,
                "scenario_file": result.scenario_set.path}})
        (tmp / "summary.json").write_text(json.dumps(json_safe(result.summary()), indent=2,
                                                     default=_plain) + "\n",
                                          encoding="utf-8")
    return out


def _plain(obj: object) -> object:
    """Python numbers for numpy scalars (from pandas records)."""
    item = getattr(obj, "item", None)
    return item() if callable(item) else str(obj)
