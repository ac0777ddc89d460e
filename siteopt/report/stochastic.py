"""Report page of a two-stage stochastic result folder (`siteopt solve --scenarios --out`).

The folder holds `summary.json` (kind "two-stage stochastic"), `commitments.csv`,
`commitment_changes.csv`, `scenario_costs.csv`, optionally `history.csv` (decomposition) and
one ordinary result folder per scenario under `scenarios/<id>/`. The page leads with what a
sponsor decides now (the here-and-now commitments and how they differ from the deterministic
plan), the cost distribution against wait-and-see and the mean-value plan, EVPI and VSS, the
bound and incumbent over time, then one scenario's adapted plan (a folder without a plan,
infeasible or none found, has an empty `scenarios/`: the page says so). Reads files only.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from siteopt.errors import InputError, Problem
from siteopt.report.decisions import Page
from siteopt.report.figures import LAYOUT, Chart, _colour, plain
from siteopt.report.folder import ResultFolder, read_result_folder
from siteopt.report.tables import table_html

KIND = "two-stage stochastic"
#: Cost columns of scenario_costs.csv the distribution chart compares, with their labels.
COST_COLUMNS = (("cost_usd_m", "this plan (adapted per scenario)"),
                ("wait_and_see_usd_m", "wait-and-see (perfect information)"),
                ("mean_value_plan_usd_m", "mean-value plan's commitments"),
                ("deterministic_plan_usd_m", "deterministic plan's commitments"))


def is_stochastic(folder: Path) -> bool:
    """Whether `folder` is a two-stage result folder."""
    path = folder / "summary.json"
    if not (path.is_file() and (folder / "scenario_costs.csv").is_file()):
        return False
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("kind") == KIND
    except (OSError, ValueError):
        return False


def _csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        return pd.DataFrame()
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def distribution_chart(costs: pd.DataFrame) -> Chart:
    """Each scenario's cost under this plan and the comparison plans, with its probability."""
    fig = go.Figure()
    ids = [plain(s) for s in costs["scenario"]]
    for i, (col, label) in enumerate(COST_COLUMNS):
        if col not in costs or costs[col].isna().all():
            continue
        fig.add_trace(go.Bar(x=ids, y=costs[col].astype(float).tolist(), name=label,
                             marker_color=_colour(i), meta=f"stochastic-{col}",
                             customdata=costs["probability"].astype(float).tolist(),
                             hovertemplate="%{x} (p = %{customdata:.3g}): USD %{y:,.1f} M"
                                           "<extra>%{fullData.name}</extra>"))
    fig.update_layout(**LAYOUT, height=440, barmode="group",
                      title="Present cost per scenario (USD M)")
    fig.update_xaxes(title="scenario", tickangle=-45)
    fig.update_yaxes(title="USD M (present value)")
    return Chart("stochastic-costs", "Cost distribution", fig, costs,
                 ["wait-and-see: each scenario solved knowing it in advance (its cost is a "
                  "lower bound for any plan); mean-value plan: commitments of the plan for "
                  "the probability-weighted mean scenario, the rest adapted per scenario"])


def history_chart(history: pd.DataFrame) -> Chart:
    """Bound and incumbent of the decomposition over time."""
    fig = go.Figure()
    for i, col in enumerate(("bound", "incumbent")):
        if col in history:
            fig.add_trace(go.Scatter(x=history["seconds"].astype(float).tolist(),
                                     y=history[col].astype(float).tolist(), name=col,
                                     mode="lines+markers", line_shape="hv",
                                     marker=dict(color=_colour(i)), line=dict(color=_colour(i)),
                                     meta=f"stochastic-{col}"))
    fig.update_layout(**LAYOUT, height=380, title="Decomposition: bound and incumbent")
    fig.update_xaxes(title="seconds")
    fig.update_yaxes(title="objective (USD M)")
    return Chart("stochastic-history", "Bound and incumbent over time", fig, history)


def _money(x: object) -> str:
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "-"
    return "-" if v != v else f"USD {v:,.2f} M"


def _status(status: object) -> str:
    """The two-stage status, in red unless proven optimal (e.g. "gap": stopped short)."""
    text = html.escape(str(status))
    return f"<b>{text}</b>" if status == "optimal" else f'<span class="bad">{text}</span>'


def _with_interval(summary: dict[str, object], key: str) -> str:
    """`summary[key]` with the interval that brackets its true value when it is not exact.

    EVPI and VSS subtract incumbents of solves that may stop at a gap: the point value
    alone could overstate (or hide) what they are worth (the console prints the interval
    too).
    """
    value = _money(summary.get(key))
    interval = summary.get(f"{key}_interval")
    if isinstance(interval, list) and len(interval) == 2 and interval[0] != interval[1]:
        value += f" (true value in [{_money(interval[0])}, {_money(interval[1])}])"
    return value


def _evpi(summary: dict[str, object]) -> str:
    """EVPI with the interval its true value lies in (`evpi_interval`)."""
    return _with_interval(summary, "evpi")


def _vss(summary: dict[str, object]) -> str:
    """VSS with its interval, or why it is infinite.

    Infinite: the mean-value plan's commitments leave some scenario without a feasible recourse.
    """
    infeasible = summary.get("mean_value_plan_infeasible_in") or []
    if summary.get("vss") is None and infeasible:
        return ("infinite: the mean-value plan's commitments leave no feasible recourse in "
                "scenario(s) " + html.escape(", ".join(str(s) for s in infeasible)))
    return _with_interval(summary, "vss")


def stochastic_page(folder: Path, scenario: str | None) -> Page:
    """The two-stage report: commitments, cost distribution, EVPI, VSS, then one scenario."""
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    costs = _csv(folder / "scenario_costs.csv")
    if costs.empty:
        raise InputError(Problem(str(folder / "scenario_costs.csv"), "one row per scenario",
                                 found="an empty table"))
    ids = costs["scenario"].astype(str).tolist()
    chosen = scenario or ids[0]
    if chosen not in ids:
        raise InputError(Problem("--scenario", "one of " + ", ".join(ids[:20]), found=chosen))
    risk = summary.get("risk") or {}
    verified = summary.get("verified")
    facts = [
        ("status", _status(summary.get("status"))),
        ("objective", f"{_money(summary.get('objective'))} "
                      f"({html.escape(str(summary.get('objective_name')))})"),
        ("bound / gap", f"{_money(summary.get('bound'))} / "
                        + ("-" if summary.get("gap") is None
                           else f"{100 * float(summary['gap']):.3f} %")),
        ("expected cost", _money(summary.get("expected_cost"))),
        (f"CVaR at α = {risk.get('alpha')}", _money(risk.get("cvar"))),
        ("worst scenario", _money(risk.get("worst_cost"))),
        ("EVPI (what perfect information is worth)", _evpi(summary)),
        ("VSS (what planning for uncertainty saves against the mean-value plan)",
         _vss(summary)),
        ("method", html.escape(str(summary.get("method")))),
        ("every scenario plan verified", f"<b>{verified}</b>" if verified is True
         else f'<span class="bad">{html.escape(str(verified))}</span>'),
    ]
    remarks = "".join(f'<p class="note">{html.escape(str(n))}</p>'
                      for n in summary.get("notes") or [])
    has_plan = (folder / "scenarios" / chosen / "summary.json").is_file()
    label = "violation" if has_plan else "why there is no plan"  # as the plan page says
    remarks += "".join(f'<p class="note">{label}: {html.escape(str(v))}</p>'
                       for v in (summary.get("violations") or [])[:30])
    rows = "".join(f"<tr><th style='text-align:left'>{k}</th><td>{v}</td></tr>"
                   for k, v in facts)
    commitments = _csv(folder / "commitments.csv")
    changes = _csv(folder / "commitment_changes.csv")
    prefix = (f"<section><h2>Two-stage plan</h2><p>Instance "
              f"<b>{html.escape(str(summary.get('instance')))}</b>, {len(ids)} scenarios from "
              f"<code>{html.escape(str(summary.get('scenario_file')))}</code>; decisions whose "
              f"construction starts by <b>{summary.get('decision_year')}</b> are shared by every "
              "scenario, the rest adapts.</p>"
              f"<table class='numbers'>{rows}</table>{remarks}"
              f"<h3>Here-and-now commitments ({len(commitments)})</h3>"
              + table_html(commitments, "commitments", open_=True)
              + f"<h3>Differences from the deterministic plan ({len(changes)})</h3>"
              + table_html(changes, "commitment changes", open_=True)
              + (f"<p>The plan drawn below is scenario <b>{html.escape(chosen)}</b>'s adapted "
                 "plan; choose another with <code>siteopt report RESULT_DIR --scenario ID"
                 "</code>.</p>" if has_plan else "<p>No scenario plan to draw.</p>")
              + "</section>")
    charts = [distribution_chart(costs)]
    history = _csv(folder / "history.csv")
    if not history.empty and "seconds" in history:
        charts.append(history_chart(history))
    if not has_plan:
        # no plan (infeasible, none found): scenarios/ is empty; the header from the summary
        rf = ResultFolder(folder, {
            k: summary.get(k) for k in ("status", "objective_name", "objective_unit",
                                        "objective", "bound", "gap", "verified", "instance",
                                        "finished_at")},
            {}, None, notes=[f"no plan for scenario {chosen} in this folder (status "
                             f"{summary.get('status')}): scenarios/{chosen}/ was not written"])
        return Page(rf, f"siteopt two-stage plan: {summary.get('instance', folder.name)} "
                    "(no plan)", prefix, charts, "Scenarios")
    rf = read_result_folder(folder / "scenarios" / chosen)
    # the header is the scenario folder's, whose status is its recourse solve's ("optimal"
    # for fixed commitments even when the two-stage plan is not proven): name both
    rf.summary = {**rf.summary,
                  "status": f"two-stage plan: {summary.get('status')}; scenario {chosen}'s "
                            f"recourse: {rf.summary.get('status')}",
                  "verified": bool(rf.summary.get("verified")) and verified is True,
                  # solved: when the two-stage solve (comparisons included) finished
                  "finished_at": summary.get("finished_at")}
    return Page(rf, f"siteopt two-stage plan: {summary.get('instance', folder.name)} "
                f"(scenario {chosen})", prefix, charts, "Scenarios")
