"""Tables of numbers in the HTML report: every chart's data as a table a person can copy."""

from __future__ import annotations

import html

import pandas as pd


def table_html(frame: pd.DataFrame | None, caption: str, open_: bool = False) -> str:
    """`frame` as an HTML table inside a <details> element (expanded when `open_`)."""
    if frame is None or frame.empty:
        return "<p><small>no rows</small></p>"
    body = frame.to_html(index=False, classes="numbers", border=0, na_rep="",
                         float_format=lambda x: f"{x:,.3f}".rstrip("0").rstrip("."),
                         escape=True)
    attr = " open" if open_ else ""
    return (f"<details{attr}><summary>Numbers: {html.escape(caption)} ({len(frame)} rows)"
            f"</summary>{body}</details>")
