"""Tables of numbers in the HTML report: every chart's data as a table a person can copy."""

from __future__ import annotations

import html

import pandas as pd


def _years_as_integers(frame: pd.DataFrame) -> pd.DataFrame:
    """Year columns ("year", "*_year") read as float (empty cells) as text of integers.

    So that they print as 2027, not 2,027 (the thousands separator of the other numbers); an
    empty cell stays empty.
    """
    out = frame
    for col in frame.columns:
        name = str(col)
        if not (name == "year" or name.endswith("_year")):
            continue
        values = frame[col]
        if not pd.api.types.is_float_dtype(values):
            continue
        given = values.dropna()
        if (given == given.round()).all():
            out = out.copy() if out is frame else out
            out[col] = ["" if pd.isna(v) else str(int(v)) for v in values]
    return out


def numbers_html(frame: pd.DataFrame, classes: str = "numbers") -> str:
    """`frame` as a bare HTML table of class `classes`, shown as it is (no <details>).

    Names escaped, year columns as years, floats with thousands separators and at most 3
    decimals: the same cells as the charts' number tables.
    """
    return _years_as_integers(frame).to_html(
        index=False, classes=classes, border=0, na_rep="",
        float_format=lambda x: f"{x:,.3f}".rstrip("0").rstrip("."), escape=True)


def table_html(frame: pd.DataFrame | None, caption: str, open_: bool = False) -> str:
    """`frame` as an HTML table inside a <details> element (expanded when `open_`)."""
    if frame is None or frame.empty:
        return "<p><small>no rows</small></p>"
    body = numbers_html(frame)
    attr = " open" if open_ else ""
    count = f"{len(frame)} row{'' if len(frame) == 1 else 's'}"  # not "(1 rows)"
    return (f"<details{attr}><summary>Numbers: {html.escape(caption)} ({count})"
            f"</summary>{body}</details>")
