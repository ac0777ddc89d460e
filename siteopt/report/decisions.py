"""Report pages of the decision-support folders: `siteopt value --out` and `alternatives --out`.

A value folder (`headroom_values.csv` and siblings, `base/`) gets its value curves, one chart
per kind of input (objective change against the step, one line per binding row), the
fixed-plan marginal values of demand, the printed findings, then the base plan's sections.
An alternatives folder (`alternatives.csv`, one result folder per plan) gets the plans side by
side (cost over the optimum, first online year per site, MW per zone, pairwise distances),
then one plan's sections (default: the optimum). Both read only the files; nothing is solved;
`siteopt.report.html` renders the `Page`s.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from siteopt.errors import InputError, Problem
from siteopt.io.write import base_plan_words
from siteopt.report.figures import LAYOUT, Chart, _colour, plain
from siteopt.report.folder import ResultFolder, read_result_folder

#: The CSV files of a value folder, with the columns naming one curve, the step column and
#: its unit, in the order the page shows them.
VALUE_FILES: tuple[tuple[str, str, tuple[str, ...], str, str], ...] = (
    ("headroom", "Grid headroom", ("zone", "year"), "delta_mw", "facility MW"),
    ("budget", "Budgets", ("sponsor", "year"), "delta_usd_m", "USD M"),
    ("site_cap", "Site caps", ("site",), "delta_mw", "IT MW"),
    ("latency", "Latency targets", ("region", "class"), "delta_ms", "ms"),
)
#: Columns of a value curve's table in the report.
CURVE_COLUMNS = ("objective", "delta_objective", "status", "verified", "method", "changes")


def is_value(folder: Path) -> bool:
    """Whether `folder` is the output of `siteopt value --out`."""
    return (folder / "headroom_values.csv").is_file() and (folder / "summary.json").is_file()


def is_alternatives(folder: Path) -> bool:
    """Whether `folder` is the output of `siteopt alternatives --out`."""
    return (folder / "alternatives.csv").is_file() and (folder / "summary.json").is_file()


def _summary(folder: Path) -> dict[str, object]:
    path = folder / "summary.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(Problem(str(path), "a readable summary.json",
                                 found=str(exc))) from exc


def _csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, keep_default_na=True, dtype={"sponsor": str})
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (OSError, ValueError) as exc:
        raise InputError(Problem(str(path), "a CSV table written by siteopt",
                                 found=str(exc))) from exc


def _label(row: pd.Series, ids: tuple[str, ...]) -> str:
    parts = []
    for c in ids:
        v = row.get(c)
        if c == "sponsor":
            parts.append("all sponsors" if pd.isna(v) or v == "" else str(v))
        elif c == "year":
            parts.append("horizon" if pd.isna(v) else str(int(v)))
        else:
            parts.append(str(v))
    return " ".join(parts)


# ---- value ----------------------------------------------------------------------------------

def value_curve_chart(frame: pd.DataFrame, key: str, title: str, ids: tuple[str, ...],
                      step: str, unit: str) -> Chart:
    """Objective change against the step, one line per binding row (0 at the base plan)."""
    if frame.empty:
        return Chart(f"value-{key}", title, None, frame, ["none binding: no curve computed"])
    table = frame.copy()
    table.insert(0, "row", [_label(r, ids) for _, r in table.iterrows()])
    ok = table[table["objective"].notna()]
    fig = go.Figure()
    for i, (row, part) in enumerate(ok.groupby("row", sort=False)):
        part = part.sort_values(step)
        xs = [0.0, *part[step].astype(float)]
        ys = [0.0, *part["delta_objective"].astype(float)]
        order = sorted(range(len(xs)), key=xs.__getitem__)
        hover = ["base plan", *[
            f"{plain(r.status)}, {plain(r.method)}" + (f"<br>{plain(r.changes)}"
                                         if isinstance(r.changes, str) and r.changes else "")
            for r in part.itertuples(index=False)]]
        fig.add_trace(go.Scatter(
            x=[xs[j] for j in order], y=[ys[j] for j in order], mode="lines+markers",
            line_shape="linear", name=plain(row), marker=dict(color=_colour(i), size=8),
            line=dict(color=_colour(i), dash="dot", width=1), text=[hover[j] for j in order],
            hovertemplate="%{x:+g} " + unit + ": %{y:+,.2f} USD M<br>%{text}<extra>%{fullData"
                          ".name}</extra>", meta=f"value-{key}"))
    fig.add_hline(y=0, line=dict(color="#999", width=1))
    fig.update_layout(**LAYOUT, height=420, title=f"{title}: change of the optimal present "
                      "cost against the step (below 0: the step saves money)",
                      legend=dict(title="binding row"))
    fig.update_xaxes(title=f"step ({unit})", zeroline=False)
    fig.update_yaxes(title="change of the optimum (USD M, present value)")
    keep = ["row", step, *[c for c in CURVE_COLUMNS if c in table], "error"]
    notes = ["points are computed optima; capacity comes in phases, so between two points "
             "the curve is a step at an unknown place (the dotted lines only join the points)"]
    if (table["objective"].isna()).any():
        notes.append(f"{int(table['objective'].isna().sum())} step(s) have no value (invalid "
                     "override or no plan); see the table")
    if "status" in table and (table["objective"].notna() & (table["status"] != "optimal")).any():
        notes.append("points whose status is not optimal are bounds, not values")
    return Chart(f"value-{key}", title, fig, table[[c for c in keep if c in table]], notes)


def demand_chart(frame: pd.DataFrame, top: int = 25) -> Chart:
    """Marginal cost of one more IT MW per region, class and year (LP duals, plan fixed)."""
    title = "Demand: marginal cost of one more IT MW (plan fixed)"
    notes = ["LP duals of demand_balance with every binary fixed at the optimal plan: the "
             "plan is assumed not to change; valid within the ranging interval shown, and "
             "only for less demand where holds_for says 'less only' (the interval ends at "
             "today's demand)"]
    if frame.empty:
        return Chart("value-demand", title, None, frame, [*notes, "no demand rows"])
    view = frame.sort_values("usd_m_per_mw", ascending=False).head(top)
    labels = [f"{plain(r.region)}/{plain(r._1)} {r.year}" for r in view.itertuples(index=False)]
    fig = go.Figure(go.Bar(x=labels, y=(view["usd_m_per_mw"] + 0.0).tolist(),
                           marker_color="#4c72b0", meta="value-demand",
                           hovertemplate="%{x}: USD %{y:,.3f} M per IT MW<extra></extra>"))
    fig.update_layout(**LAYOUT, height=400,
                      title=f"Marginal cost of demand, the {len(view)} highest of {len(frame)}")
    fig.update_xaxes(title="region/class year", tickangle=-45)
    fig.update_yaxes(title="USD M per IT MW (present value)")
    return Chart("value-demand", title, fig, frame, notes)


def value_charts(folder: Path) -> list[Chart]:
    """The value curves of a value folder and the demand marginals, in page order."""
    charts = []
    for key, title, ids, step, unit in VALUE_FILES:
        path = folder / f"{key}_values.csv"
        if not path.is_file():
            charts.append(Chart(f"value-{key}", title, None, pd.DataFrame(),
                                [f"not drawn: {path.name} missing"]))
            continue
        charts.append(value_curve_chart(_csv(path), key, title, ids, step, unit))
    demand = folder / "demand_values.csv"
    charts.append(demand_chart(_csv(demand)) if demand.is_file() else Chart(
        "value-demand", "Demand", None, pd.DataFrame(), ["not drawn: demand_values.csv missing"]))
    return charts


def _findings_html(summary: dict[str, object], heading: str) -> str:
    lines = [str(x) for x in summary.get("findings") or []]
    if not lines:
        return ""
    items = "".join(f"<li>{html.escape(x)}</li>" for x in lines)
    return f"<h3>{html.escape(heading)}</h3><ul>{items}</ul>"


@dataclass
class Page:
    """What `siteopt.report.html.render` draws: a plan, a title, a lead section, charts."""

    rf: ResultFolder
    title: str
    prefix: str
    charts: list[Chart]
    nav: str


def value_page(folder: Path) -> Page:
    """The value report: findings, curves, demand marginals, then the base plan."""
    summary = _summary(folder)
    base = folder / str(summary.get("base_folder") or "base")
    note = ""
    if not (base / "summary.json").is_file():
        note = (f'<p class="note">the base plan is not in this folder ({html.escape(base.name)}/ '
                "missing; folders written before the report existed lack it): only the values "
                "are shown</p>")
    verified = summary.get("all_verified")
    status = summary.get("base_status", "optimal")  # folders before 2026-12-03: proven
    best = base_plan_words(status, summary.get("base_gap"))
    if status != "optimal":
        note += ('<p class="note">the base plan is not proven optimal: every change below is '
                 "a bound, not a value (see the findings)</p>")
    prefix = (f"<section><h2>Value of scarce inputs</h2>{note}<p>Instance "
              f"<b>{html.escape(str(summary.get('instance')))}</b>: {html.escape(best)} USD "
              f"{float(summary.get('base_objective') or 0):,.2f} M, "
              f"{summary.get('re_solves')} re-solves in {float(summary.get('seconds') or 0):.0f}"
              f" s; every re-solved plan verified: <b>{verified}</b>. "
              f"{html.escape(str(summary.get('note', '')))}.</p>"
              + _findings_html(summary, "Findings") + "</section>")
    charts = value_charts(folder)
    title = f"siteopt value: {summary.get('instance', folder.name)}"
    if note:  # the header from the value summary; no plan sections
        rf = ResultFolder(folder, {
            "status": summary.get("base_status"), "objective": summary.get("base_objective"),
            "gap": summary.get("base_gap"), "verified": summary.get("base_verified"),
            "instance": summary.get("instance"),
            "instance_fingerprint": summary.get("instance_fingerprint"),
            "finished_at": summary.get("base_finished_at")}, {}, None)
    else:
        rf = read_result_folder(base)
    return Page(rf, title, prefix, charts, "Values")


# ---- alternatives ---------------------------------------------------------------------------

def alternatives_cost_chart(table: pd.DataFrame, slack: float) -> Chart:
    """Cost over the optimum per plan, against the slack allowed."""
    fig = go.Figure(go.Bar(x=[plain(i) for i in table["id"]],
                           y=(table["pct_over_optimum"] + 0.0).tolist(),
                           marker_color=["#2e8b57" if i == "optimum" else "#4c72b0"
                                         for i in table["id"]],
                           meta="alternatives-cost",
                           hovertemplate="%{x}: +%{y:.2f} % over the optimum<extra></extra>"))
    fig.add_hline(y=100 * slack, line=dict(color="#c0392b", dash="dash"),
                  annotation_text=f"slack {100 * slack:g} %")
    fig.update_layout(**LAYOUT, height=380, title="Cost of each plan over the optimum")
    fig.update_xaxes(title="plan")
    fig.update_yaxes(title="% over the optimum", rangemode="tozero")
    cols = [c for c in ("id", "objective", "pct_over_optimum", "verified", "sites",
                        "min_distance", "min_sites_differ", "min_phase_years_differ")
            if c in table]
    return Chart("alternatives-cost", "Cost over the optimum", fig, table[cols])


def whole_tick_step(values: pd.DataFrame) -> int:
    """A colour bar's whole-number tick step (1, 2, 5, 10, ...): at most six over the span.

    For years and MW. The colour bar prints its ticks as integers (tickformat "d"); left to
    plotly, the step over one year was 0.5, so 2027, 2027.5 and 2028 read "2027, 2028, 2028".
    """
    given = values.stack().dropna()
    span = float(given.max() - given.min()) if len(given) else 0.0
    step, k = 1, 0
    while span / step > 6:
        k += 1
        step = (1, 2, 5)[k % 3] * 10 ** (k // 3)
    return step


def alternatives_matrix_chart(table: pd.DataFrame, prefix: str, key: str, title: str,
                              unit: str) -> Chart:
    """A plans × items heat map of one family of columns (first online year, MW per zone)."""
    cols = [c for c in table.columns if c.startswith(prefix)]
    if not cols:
        return Chart(key, title, None, pd.DataFrame(), [f"no {prefix}* columns"])
    items = [c.removeprefix(prefix) for c in cols]
    values = table[cols].apply(pd.to_numeric, errors="coerce")
    text = [["-" if pd.isna(v) else f"{v:.0f}" for v in row] for row in values.to_numpy()]
    fig = go.Figure(go.Heatmap(z=values.to_numpy().tolist(), x=[plain(i) for i in items],
                               y=[plain(i) for i in table["id"]],
                               text=text, texttemplate="%{text}", colorscale="Blues",
                               colorbar=dict(title=unit, tickformat="d",
                                             dtick=whole_tick_step(values)), meta=key,
                               hovertemplate="%{y}, %{x}: %{text} " + unit + "<extra></extra>"))
    fig.update_layout(**LAYOUT, height=max(300, 60 + 32 * len(table)), title=title)
    fig.update_yaxes(autorange="reversed", title="plan")
    view = table[["id"]].join(values.set_axis(items, axis=1))
    return Chart(key, title, fig, view)


def differences(table: pd.DataFrame) -> list[str]:
    """One line per alternative: how it differs from the optimum (sites, first online years)."""
    if table.empty or "optimum" not in set(table["id"]):
        return []
    best = table[table["id"] == "optimum"].iloc[0]
    firsts = [c for c in table.columns if c.startswith("first_online.")]
    base_sites = set(str(best["sites"]).split("|")) - {"", "nan"}
    out = []
    for _, r in table[table["id"] != "optimum"].iterrows():
        sites = set(str(r["sites"]).split("|")) - {"", "nan"}
        parts = [f"{r['id']}: +{float(r['pct_over_optimum']):.2f} %"]
        if sites - base_sites:
            parts.append("opens " + ", ".join(sorted(sites - base_sites)))
        if base_sites - sites:
            parts.append("does not open " + ", ".join(sorted(base_sites - sites)))
        moved = []
        for c in firsts:
            a, b = best[c], r[c]
            if pd.isna(a) or pd.isna(b) or a == b:
                continue
            moved.append(f"{c.removeprefix('first_online.')} {int(a)}→{int(b)}")
        if moved:
            parts.append("first online " + ", ".join(moved))
        if len(parts) == 1:
            parts.append("same sites and first years; differs in phases, cooling or timing")
        out.append("; ".join(parts))
    return out


def alternatives_page(folder: Path, plan: str | None) -> Page:
    """The alternatives report: plans side by side, then one plan's sections."""
    summary = _summary(folder)
    table = _csv(folder / "alternatives.csv")
    if table.empty:
        raise InputError(Problem(str(folder / "alternatives.csv"), "at least the optimum's row",
                                 found="an empty table"))
    ids = [str(i) for i in table["id"]]
    chosen = plan or ids[0]
    if chosen not in ids:
        raise InputError(Problem("--scenario", "one of " + ", ".join(ids[:20]), found=chosen))
    slack = float(summary.get("slack") or 0.0)
    charts = [alternatives_cost_chart(table, slack),
              alternatives_matrix_chart(table, "first_online.", "alternatives-first",
                                        "First online year per site", "year"),
              alternatives_matrix_chart(table, "mw.", "alternatives-mw",
                                        "Built IT MW per zone in the last year", "IT MW")]
    dist = folder / "distances.csv"
    if dist.is_file():
        charts.append(Chart("alternatives-distances", "Pairwise distances", None, _csv(dist),
                            ["Hamming distance over the plan's binaries, sites that differ "
                             "and phase online years that differ, per pair of plans"]))
    lines = differences(table)
    items = "".join(f"<li>{html.escape(x)}</li>" for x in lines) or "<li>none found</li>"
    stopped = summary.get("stopped")
    best = base_plan_words(summary.get("optimum_status", "optimal"), summary.get("optimum_gap"))
    prefix = (f"<section><h2>Near-optimal plans</h2><p>{len(ids) - 1} alternative(s) within "
              f"{100 * slack:g} % of the {html.escape(best)} USD "
              f"{float(summary.get('optimum') or 0):,.2f} M, "
              f"pairwise distance ≥ {summary.get('min_distance')}, seed {summary.get('seed')}; "
              f"every plan verified: <b>{summary.get('all_verified')}</b>."
              + (f" Stopped early: {html.escape(str(stopped))}." if stopped else "")
              + f"</p><h3>How they differ from the optimum</h3><ul>{items}</ul>"
              f"<p>The plan drawn below is <b>{html.escape(chosen)}</b>; choose another with "
              "<code>siteopt report ALTERNATIVES_DIR --scenario ID</code>.</p></section>")
    rf = read_result_folder(folder / chosen)
    return Page(rf, f"siteopt alternatives: {rf.summary.get('instance', folder.name)} "
                f"(plan {chosen})", prefix, charts, "Alternatives")
