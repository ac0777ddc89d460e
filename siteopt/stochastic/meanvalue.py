"""The mean-value (expected-value) scenario: every number the probability-weighted mean.

Used for the value of the stochastic solution (VSS): the plan a planner would make for the
average future, its commitments then evaluated in every scenario. Numeric cells are averaged
(whole-number columns such as lead_months rounded); every other cell and setting, and the
ordinal `phases.order`, is taken from the most probable scenario.

Rows are matched by the table's key, not by position. Scenarios made by overrides change
cells, never rows, so every scenario has the same rows; a row present in only some scenarios
has no mean (a site that exists in 30 % of futures is not a 30 % site) and is an InputError
naming the table and the row.

An empty numeric cell means one of three things, and the mean follows the meaning:

* it stands for a number derived in the same scenario (`phases.fixed_om_usd_m_per_year`:
  `economics.fixed_om_share` x capex): that number is averaged;
* it stands for no limit (`sites.max_it_mw`): the mean of a limit absent in any scenario is
  no limit, so the cell stays empty;
* otherwise it is not given (e.g. `lat`, `lon`): the mean is over the scenarios that give the
  cell, their probabilities renormalized; empty where no scenario gives it.

A cell every scenario leaves empty stays empty, so the mean instance derives it as they do.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from siteopt.data.instance import Instance
from siteopt.data.load import make_instance
from siteopt.errors import InputError, Problem
from siteopt.io.schema import TABLES_BY_NAME, Column, Metadata, Table

#: Numeric columns whose empty cell means "no limit".
UNLIMITED_WHEN_EMPTY = frozenset({("sites", "max_it_mw")})
#: Numeric columns that rank rows rather than measure them: taken from the most probable.
NOT_AVERAGED = frozenset({("phases", "order")})


def mean_instance(instances: Sequence[Instance], probabilities: Sequence[float]) -> Instance:
    """The probability-weighted mean of scenario instances (same rows, matched by key)."""
    p = np.asarray(probabilities, dtype=float)
    base = instances[int(np.argmax(p))]
    tables = {name: _mean_table(name, frame, instances, p)
              for name, frame in base.tables.items()}
    return make_instance(_mean_meta(base, instances, p), tables, path=base.path,
                         overrides=(("scenarios", "probability-weighted mean"),))


def _mean_table(name: str, frame: pd.DataFrame, instances: Sequence[Instance],
                p: np.ndarray) -> pd.DataFrame:
    """`frame` (the most probable scenario's) with every numeric cell the scenarios' mean."""
    table = TABLES_BY_NAME.get(name)
    out = frame.copy()
    out.attrs = dict(frame.attrs)
    if table is None or not len(frame):
        return out
    rows = [_aligned_rows(table, frame, inst.tables[name]) for inst in instances]
    for col in table.columns:
        if (col.kind not in ("float", "int") or col.name not in frame
                or (name, col.name) in NOT_AVERAGED):
            continue
        pairs = list(zip(instances, rows, strict=True))
        stack = np.vstack([_values(name, col, inst)[order] for inst, order in pairs])
        mean = _weighted_mean(stack, p)
        never = np.all([inst.tables[name][col.name].isna().to_numpy()[order]
                        for inst, order in pairs], axis=0)
        out[col.name] = _column_of(col, np.where(never, np.nan, mean))
    return out


def _aligned_rows(table: Table, base: pd.DataFrame, other: pd.DataFrame) -> np.ndarray:
    """Positions in `other` of `base`'s rows, matched by key; InputError if the rows differ."""
    mine, theirs = _keys(table, base), _keys(table, other)
    where = {key: i for i, key in enumerate(theirs)}
    only = sorted(set(mine) ^ set(theirs))
    if only or len(where) != len(theirs) or len(mine) != len(theirs):
        raise InputError(Problem(
            table.file, "the same rows in every scenario (a mean-value instance averages "
            "cells, a row in only some scenarios has no mean)",
            column=",".join(table.key), found="|".join("/".join(k) for k in only[:5])
            or "repeated keys"))
    return np.asarray([where[key] for key in mine], dtype=int)


def _keys(table: Table, frame: pd.DataFrame) -> list[tuple[str, ...]]:
    """Each row's key as text (empty cells included), in row order."""
    cols = [c for c in table.key if c in frame]
    return list(frame[cols].astype(object).astype(str).itertuples(index=False, name=None))


def _values(name: str, col: Column, inst: Instance) -> np.ndarray:
    """The column as floats, empty cells as the number they stand for (NaN if none)."""
    values = inst.tables[name][col.name].to_numpy(dtype=float, na_value=np.nan)
    if (name, col.name) in UNLIMITED_WHEN_EMPTY:
        return np.where(np.isnan(values), np.inf, values)
    if (name, col.name) == ("phases", "fixed_om_usd_m_per_year"):
        capex = inst.tables[name]["capex_usd_m"].to_numpy(dtype=float, na_value=np.nan)
        derived = capex * inst.meta.economics.fixed_om_share
        return np.where(np.isnan(values), derived, values)
    return values


def _weighted_mean(stack: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Per column of `stack` (scenarios x cells), the mean over the scenarios giving a value.

    NaN where no scenario gives one; inf (no limit) where any scenario has no limit. The
    mean is clipped to the values it averages: a sum of a hundred probabilities rounds to
    1 + 2e-16, and a derate of 1 in every scenario must not average to 1.0000000000000002
    (which the instance's own validation rejects).
    """
    given = ~np.isnan(stack)
    weight = given.T @ p
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (p @ np.where(given, stack, 0.0)) / weight
        low = np.min(np.where(given, stack, np.inf), axis=0)
        high = np.max(np.where(given, stack, -np.inf), axis=0)
        mean = np.where(np.isinf(high), high, np.clip(mean, low, high))
    return np.where(weight > 0, mean, np.nan)


def _column_of(col: Column, mean: np.ndarray) -> pd.api.extensions.ExtensionArray | np.ndarray:
    """The averaged cells as the column's type: no value and no limit both empty."""
    empty = ~np.isfinite(mean)
    if col.kind == "int":
        return pd.array([pd.NA if e else round(v) for v, e in zip(mean, empty, strict=True)],
                        dtype="Int64")
    return np.where(empty, np.nan, mean)


def _mean_meta(base: Instance, instances: Sequence[Instance], p: np.ndarray) -> Metadata:
    """The most probable scenario's settings with every float setting the mean."""
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
    return meta
