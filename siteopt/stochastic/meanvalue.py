"""The mean-value (expected-value) scenario: every number the probability-weighted mean.

Used for the value of the stochastic solution (VSS): the plan a planner would make for the
average future, its commitments then evaluated in every scenario. Scenarios come from
overrides of one instance, so their tables have the same rows in the same order; numeric
cells are averaged (whole-number columns such as lead_months rounded), every other cell and
setting is taken from the most probable scenario.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from siteopt.data.instance import Instance
from siteopt.data.load import make_instance
from siteopt.io.schema import TABLES_BY_NAME, Metadata


def mean_instance(instances: Sequence[Instance], probabilities: Sequence[float]) -> Instance:
    """The probability-weighted mean of scenario instances (same rows, same order)."""
    p = np.asarray(probabilities, dtype=float)
    base = instances[int(np.argmax(p))]
    tables: dict[str, pd.DataFrame] = {}
    for name, frame in base.tables.items():
        table = TABLES_BY_NAME.get(name)
        out = frame.copy()
        out.attrs = dict(frame.attrs)
        if table is not None and len(frame):
            for col in table.columns:
                if col.kind not in ("float", "int") or col.name not in frame:
                    continue
                stack = np.vstack([inst.tables[name][col.name].to_numpy(dtype=float,
                                                                         na_value=np.nan)
                                   for inst in instances])
                mean = p @ np.nan_to_num(stack)
                missing = np.isnan(stack).any(axis=0)
                if col.kind == "int":
                    out[col.name] = pd.array([pd.NA if m else round(v)
                                              for v, m in zip(mean, missing, strict=True)],
                                             dtype="Int64")
                else:
                    out[col.name] = np.where(missing, np.nan, mean)
        tables[name] = out
    data = base.meta.model_dump(exclude_unset=True)
    for section, values in list(data.items()):
        if not isinstance(values, dict):
            continue
        for key, value in values.items():
            if isinstance(value, float):
                got = [getattr(getattr(inst.meta, section), key) for inst in instances]
                values[key] = float(p @ np.asarray(got, dtype=float))
    meta = Metadata.model_validate(data)
    for inst in instances:  # a scalar set in some scenarios only is explicit in the mean too
        for section in type(meta).model_fields:
            sub, mine = getattr(inst.meta, section, None), getattr(meta, section, None)
            if hasattr(sub, "model_fields_set") and hasattr(mine, "model_fields_set"):
                for key in sub.model_fields_set - mine.model_fields_set:
                    got = [getattr(getattr(i.meta, section), key) for i in instances]
                    value = (float(p @ np.asarray(got, dtype=float))
                             if isinstance(got[0], float) else getattr(sub, key))
                    setattr(mine, key, value)
    return make_instance(meta, tables, path=base.path,
                         overrides=(("scenarios", "probability-weighted mean"),))
