"""The HTML report without a browser: contents, self-containment, missing files, sweeps."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pandas as pd
import pytest

import siteopt
from siteopt.errors import ExitCode, InputError
from siteopt.io.write import write_result
from siteopt.report import figures
from siteopt.report.html import write_report
from tests.conftest import REPO, TINY, marked


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    result = siteopt.solve(siteopt.load_instance(TINY / "committed-phase"))
    return write_result(result, tmp_path_factory.mktemp("rep") / "plan")


@pytest.fixture(scope="module")
def gen_folder(tmp_path_factory):
    """A generated tiny instance (it has coordinates) and its solved plan's folder."""
    from siteopt.synth.generate import PRESETS, generate_instance

    base = tmp_path_factory.mktemp("gen")
    generate_instance(PRESETS["tiny"], base / "inst")
    result = siteopt.solve(siteopt.load_instance(base / "inst"))
    assert result.verified
    return write_result(result, base / "plan")


def _figures(page: str) -> dict[str, dict]:
    return {m.group(1): json.loads(m.group(2).replace("<\\/", "</")) for m in re.finditer(
        r'<script type="application/json" id="(fig-[\w-]+)-data">(.*?)</script>', page, re.S)}


def test_report_is_one_self_contained_file(folder, tmp_path):
    path = write_report(folder, tmp_path / "r.html")
    page = path.read_text(encoding="utf-8")
    assert page.count("<script") == 2 + len(_figures(page))  # plotly.js, figures, the drawer
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", page)  # nothing fetched
    assert "@import" not in page and "@font-face" not in page
    assert len(re.findall(r"plotly\.js[^\n]{0,40}? v\d+\.\d+\.\d+", page)) == 1  # one copy
    assert path.stat().st_size < 5_000_000
    figs = _figures(page)
    keys = {k.split("-")[1] for k in figs}
    assert {"timeline", "grid", "costs", "service", "latency"} <= keys
    assert "no map: neither sites.csv nor nodes.csv gives coordinates" in page
    # every chart has its numbers as a table
    assert page.count("<details>") >= len(figs)
    assert "verified" in page and "committed-phase" in page


def test_map_draws_the_opened_sites_and_the_links(gen_folder):
    page = write_report(gen_folder).read_text(encoding="utf-8")
    fig = next(f for k, f in _figures(page).items() if "map" in k)
    tables = siteopt.plots._tables(gen_folder)
    sites = tables["sites"]
    drawn = sorted(s for t in fig["data"] if t.get("meta") == "site-opened"
                   for s in t["customdata"])
    assert drawn == sorted(sites.loc[sites["open_year"].notna(), "site"])
    closed = [s for t in fig["data"] if t.get("meta") == "site-candidate"
              for s in t["customdata"]]
    assert sorted(closed) == sorted(sites.loc[sites["open_year"].isna(), "site"])
    links = next(t for t in fig["data"] if t.get("meta") == "link")
    inst = siteopt.load_instance(gen_folder.parent / "inst")
    assert links["x"].count(None) == len(inst.table("links"))


def test_gantt_has_one_bar_per_built_phase(folder):
    page = write_report(folder).read_text(encoding="utf-8")
    gantt = next(f for k, f in _figures(page).items() if "timeline" in k)
    bars = [t for t in gantt["data"] if t.get("meta") == "phase"]
    sched = siteopt.plots._tables(folder)["schedule"]
    assert sum(len(t["y"]) for t in bars) == len(sched) == 2
    assert any("committed" in " ".join(t["text"]) for t in bars)


def test_missing_table_is_reported_not_raised(folder, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(folder, broken)
    (broken / "power.csv").unlink()
    page = write_report(broken).read_text(encoding="utf-8")
    assert "missing from the folder: power.csv" in page
    assert "not drawn: power.csv missing" in page


def test_unverified_plan_is_labelled_in_red(folder, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(folder, bad)
    summary = json.loads((bad / "summary.json").read_text())
    summary.update(verified=False, violations=["zone Z draws 99 MW in 2030, limit 15"])
    (bad / "summary.json").write_text(json.dumps(summary))
    page = write_report(bad).read_text(encoding="utf-8")
    assert '<span class="bad">FAILED independent verification</span>' in page
    assert "violation: zone Z draws 99 MW" in page


def test_instance_not_found_still_renders(folder, tmp_path):
    lost = tmp_path / "lost"
    shutil.copytree(folder, lost)
    summary = json.loads((lost / "summary.json").read_text())
    summary["instance_path"] = str(tmp_path / "nowhere")
    (lost / "summary.json").write_text(json.dumps(summary))
    page = write_report(lost).read_text(encoding="utf-8")
    assert "not found" in page and "the map" in page
    assert "timeline" in " ".join(_figures(page))


def test_not_a_result_folder_exits_2_naming_the_file(tmp_path):
    with pytest.raises(InputError, match=r"summary\.json"):
        write_report(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "siteopt", "report", str(tmp_path)],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == ExitCode.BAD_INPUT
    assert "summary.json" in proc.stderr and "Traceback" not in proc.stderr


def test_solve_writes_the_report_unless_told_not_to(tmp_path):
    def solve(*extra):
        return subprocess.run([sys.executable, "-m", "siteopt", "solve",
                               str(TINY / "cheapest-site"), *extra], capture_output=True,
                              text=True, cwd=REPO, timeout=300)

    proc = solve("--out", str(tmp_path / "a"))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "a" / "report.html").is_file() and "report:" in proc.stdout
    assert (tmp_path / "a" / "budgets.csv").is_file()
    proc = solve("--out", str(tmp_path / "b"), "--no-report")
    assert proc.returncode == 0 and not (tmp_path / "b" / "report.html").exists()


def test_failed_solve_gets_a_report_that_says_so(tmp_path):
    # solve leaves only summary.json when there is no plan; `report` says so on that folder
    def run(*args):
        return subprocess.run([sys.executable, "-m", "siteopt", *args], capture_output=True,
                              text=True, cwd=REPO, timeout=300)

    assert run("solve", str(TINY / "infeasible-capacity"), "--out",
               str(tmp_path / "r")).returncode == ExitCode.INFEASIBLE
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["summary.json"]
    proc = run("report", str(tmp_path / "r"))
    assert proc.returncode == ExitCode.OK, proc.stderr
    page = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert "NO PLAN (infeasible)" in page and "only summary.json" in page
    # the causes found, not "violations" of a plan that does not exist; no unit without a value
    assert "why there is no plan: 2030: total demand 20.00 IT MW exceeds" in page
    assert "violation:" not in page
    assert "total_cost <b>none</b>" in page and "<b>-</b> USD M" not in page
    # no chart, so no plotly.js (~1.5 MB) inlined: the page is its notes
    assert not re.search(r"plotly\.js[^\n]{0,40}? v\d+\.\d+\.\d+", page)
    assert "class=\"lazy-plot\"" not in page
    assert (tmp_path / "r" / "report.html").stat().st_size < 50_000


def test_plan_report_still_inlines_plotly_once(folder, tmp_path):
    """The counterpart of the no-plan page: a plan's charts need plotly.js, one copy."""
    page = write_report(folder, tmp_path / "r.html").read_text(encoding="utf-8")
    assert _figures(page)
    assert len(re.findall(r"plotly\.js[^\n]{0,40}? v\d+\.\d+\.\d+", page)) == 1


def test_sweep_report(tmp_path):
    out = tmp_path / "sweep"
    table = siteopt.run_scenarios(out, instance=TINY / "grid-upgrade",
                                  grid={"demand.scale": [0.8, 1.0]}, workers=0)
    page = write_report(out).read_text(encoding="utf-8")
    figs = _figures(page)
    sweep = next(f for k, f in figs.items() if "sweep" in k)
    assert sorted(sweep["data"][0]["x"]) == sorted(table["scenario"])
    assert any("timeline" in k for k in figs)  # the first scenario's plan
    second = str(table["scenario"].iloc[1])
    page = write_report(out, scenario=second).read_text(encoding="utf-8")
    assert f"scenario <b>{second}</b>" in page
    with pytest.raises(InputError, match="--scenario"):
        write_report(out, scenario="nope")


#: Trace types of plotly.js's cartesian bundle (its README: "Contains trace modules ...").
CARTESIAN_TRACES = {"bar", "box", "contour", "heatmap", "histogram", "histogram2d",
                    "histogram2dcontour", "image", "pie", "scatter", "scatterternary", "violin"}


def test_the_inlined_bundle_draws_every_trace_the_report_uses(gen_folder, tmp_path):
    from plotly.offline import get_plotlyjs_version

    from siteopt.report.html import _version, plotlyjs

    text, kind = plotlyjs()
    # the vendored bundle is used while plotly.py writes figures for the same plotly.js
    assert kind == ("cartesian" if _version(text)[:3] == get_plotlyjs_version()[:3] else "full")
    assert len(text) < (2_000_000 if kind == "cartesian" else 5_000_000)
    page = write_report(gen_folder, tmp_path / "r.html").read_text(encoding="utf-8")
    used = {t.get("type", "scatter") for f in _figures(page).values() for t in f["data"]}
    assert used and used <= CARTESIAN_TRACES, used - CARTESIAN_TRACES


def test_report_says_which_resilience_rules_bind(tmp_path):
    # tiny/n1-site: N-1 site loss needs the second site B (220 against 100 without the rule)
    from siteopt.solver.highs import SolveOptions
    from siteopt.solver.resilience_cost import resilience_costs

    inst = siteopt.load_instance(TINY / "n1-site")
    result = siteopt.solve(inst)
    page = write_report(write_result(result, tmp_path / "tight")).read_text(encoding="utf-8")
    # the API's cheap basis: not re-solved, so nothing is said to bind or not
    assert "Resilience rules tight in the plan (not re-solved, cost not measured): none." in page
    assert "were not re-solved" in page and "none binds" not in page
    resilience_costs(inst, result, SolveOptions())  # what `siteopt solve` does
    page = write_report(write_result(result, tmp_path / "plan")).read_text(encoding="utf-8")
    assert "were not re-solved" not in page
    assert ("Resilience rules that bind (the plan without the rule is cheaper): cloud "
            "n_minus_1_sites (USD 120.00 M, adds B/P1@2030)") in page


def test_report_prices_only_the_rules_it_re_solved(tmp_path):
    """A rule only tight in the plan, or one whose re-solve proved nothing, is not "binding".

    tiny/geo-zones: the plan opens A and B, exactly the two zones' sites the rule asks for,
    so the rule is tight; without a re-solve its cost was never measured, and the page must
    not say "the plan without the rule is cheaper" by USD 0.00 M. A rule whose re-solve ran
    out of time (binds null) is undecided, with its note, not counted among "none binds".
    """
    result = siteopt.solve(siteopt.load_instance(TINY / "geo-zones"))
    entry = result.resilience["cloud"]["geo_redundancy"]
    assert entry["binds"] is True and entry["basis"] == "tight in the plan"
    page = write_report(write_result(result, tmp_path / "tight")).read_text(encoding="utf-8")
    assert "the plan without the rule is cheaper" not in page
    assert ("Resilience rules tight in the plan (not re-solved, cost not measured): cloud "
            "geo_redundancy.") in page
    entry.update(basis="re-solve without the rule", binds=None, cost_usd_m=None,
                 status_without="not run", note="not measured: the time limit was used up")
    page = write_report(write_result(result, tmp_path / "open")).read_text(encoding="utf-8")
    assert "none binds" not in page and "USD 0.00 M" not in page
    assert ("Resilience rules whose cost is undecided or not measured: cloud geo_redundancy "
            "(not measured: the time limit was used up).") in page


@pytest.mark.parametrize("name", sorted(p.name for p in TINY.iterdir() if p.is_dir()))
def test_every_tiny_instance_gets_a_report(name, tmp_path):
    """Each bundled tiny instance (four-file ones without nodes.csv included) renders."""
    result = siteopt.solve(siteopt.load_instance(TINY / name), strict=False)
    page = write_report(write_result(result, tmp_path / "plan")).read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and name in page


def test_year_columns_read_as_years_in_the_number_tables():
    """A year column with empty cells is float in pandas; its cells read 2027, not 2,027."""
    import pandas as pd

    from siteopt.report.tables import table_html

    frame = pd.DataFrame({"site": ["a", "b"], "open_year": [2027.0, float("nan")],
                          "year": [2030.0, 2031.0], "it_mw_final": [1234.5, 0.0]})
    body = table_html(frame, "sites")
    assert "<td>2027</td>" in body and "<td>2031</td>" in body and "2,0" not in body
    assert "<td></td>" in body and "NA" not in body and "nan" not in body
    assert "<td>1,234.5</td>" in body  # other numbers keep their separators


def test_a_sweep_bar_not_proven_optimal_looks_different_and_says_its_gap():
    table = pd.DataFrame({"scenario": ["a", "b"], "status": ["optimal", "time_limit"],
                          "objective": [100.0, 120.0], "gap": [0.0, 0.034]})
    bar = figures.sweep_chart(table).figure.data[0]
    assert bar.marker.color[0] == figures.SWEEP_PROVEN
    assert bar.marker.color[1] == figures.SWEEP_UNPROVEN != figures.SWEEP_PROVEN
    assert list(bar.customdata) == ["optimal", "time_limit, gap 3.40%"]
    assert "not proven optimal" in figures.sweep_chart(table).figure.layout.title.text
    proven = figures.sweep_chart(table.iloc[:1]).figure
    assert "not proven" not in proven.layout.title.text


def _shown_strings(obj: object, key: str = "") -> list[str]:
    """Every string of a figure that plotly.js draws (not customdata or meta)."""
    if key in ("customdata", "meta"):
        return []
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for k, v in obj.items() for s in _shown_strings(v, k)]
    if isinstance(obj, list):
        return [s for v in obj for s in _shown_strings(v, key)]
    return []


def test_names_with_html_are_shown_as_typed(marked_folder):
    """A site named "<b>s001</b>" reads "<b>s001</b>" in hover text, tick labels, legends,
    subplot titles and tables: never bold (plotly.js reads HTML in every label)."""
    folder, ids = marked_folder
    page = write_report(folder).read_text(encoding="utf-8")
    raw = [marked(i) for i in ids]
    # outside the figures (header, tables, notes): escaped HTML
    assert not [r for r in raw if r in page]
    shown = [s for f in _figures(page).values() for s in _shown_strings(f)]
    assert not [(r, s) for s in shown for r in raw if r in s]
    # and there, escaped so that plotly.js decodes it to the text as typed
    escaped = "\n".join(shown)
    sites = [i for i in ids if i.startswith("s0")]
    zones = [i for i in ids if i.startswith("z0")]
    assert f"&lt;b&gt;{sites[0]}&lt;/b&gt;" in escaped
    assert f"&lt;i&gt;{zones[0]}&lt;/i&gt;&amp;amp;" in escaped


def test_decision_and_sweep_charts_show_names_as_typed():
    """Scenario, plan, row and item names with HTML in the sweep, value, alternatives and
    two-stage charts: escaped in every label plotly.js draws."""
    from siteopt.report import decisions, stochastic

    name = "<b>x</b>"
    charts = [
        figures.sweep_chart(pd.DataFrame({"scenario": [name], "status": ["optimal"],
                                          "objective": [1.0], "gap": [0.0],
                                          "unserved_mw_years": [0.0]})),
        decisions.value_curve_chart(
            pd.DataFrame({"site": [name], "delta_mw": [5.0], "objective": [9.0],
                          "delta_objective": [-1.0], "status": ["optimal"],
                          "verified": [True], "method": ["re-solve"],
                          "changes": [f"opens {name}"]}),
            "site_cap", "Site caps", ("site",), "delta_mw", "IT MW"),
        decisions.demand_chart(pd.DataFrame({"region": [name], "class": [name],
                                             "year": [2030], "usd_m_per_mw": [1.0]})),
        decisions.alternatives_cost_chart(pd.DataFrame({"id": [name],
                                                        "pct_over_optimum": [1.0]}), 0.05),
        decisions.alternatives_matrix_chart(
            pd.DataFrame({"id": [name], f"first_online.{name}": [2030]}), "first_online.",
            "alternatives-first", "First online year per site", "year"),
        stochastic.distribution_chart(pd.DataFrame({"scenario": [name], "probability": [1.0],
                                                    "cost_usd_m": [5.0]})),
    ]
    for chart in charts:
        shown = _shown_strings(json.loads(chart.figure.to_json()))
        assert not [s for s in shown if name in s], (chart.key, shown)
        assert any("&lt;b&gt;x&lt;/b&gt;" in s for s in shown), (chart.key, shown)


def test_solved_date_is_when_the_solve_finished_not_the_file_time(folder, tmp_path):
    """summary.json records `finished_at` (UTC); the report shows it, whatever the file's
    modification time (a copy changes it), and says so when an older folder lacks it."""
    import datetime as dt
    import os

    summary = json.loads((folder / "summary.json").read_text())
    finished = dt.datetime.strptime(summary["finished_at"], "%Y-%m-%dT%H:%M:%SZ")
    assert abs(finished - dt.datetime.now(dt.UTC).replace(tzinfo=None)) < dt.timedelta(days=1)
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    summary["finished_at"] = "2031-05-06T07:08:09Z"
    (copy / "summary.json").write_text(json.dumps(summary))
    os.utime(copy / "summary.json", (1e9, 1e9))  # 2001-09-09: a copy's own time
    page = write_report(copy).read_text(encoding="utf-8")
    assert "solved 2031-05-06 07:08 UTC" in page and "2001-09-09" not in page
    del summary["finished_at"]
    (copy / "summary.json").write_text(json.dumps(summary))
    os.utime(copy / "summary.json", (1e9, 1e9))
    page = write_report(copy).read_text(encoding="utf-8")
    assert "solved: not recorded in summary.json" in page and "2001-09-09" not in page


def test_a_plan_that_builds_and_serves_nothing_says_so_instead_of_empty_axes(tmp_path):
    """No phase built and no demand served (unserved demand costs nothing): the timeline and
    the latency chart say why they are empty instead of drawing blank axes."""
    from siteopt.data.overrides import apply_overrides

    inst = apply_overrides(siteopt.load_instance(TINY / "cheapest-site"),
                           {"service.allow_unserved": True,
                            "service.unserved_penalty_usd_m_per_mw_year": 0})
    result = siteopt.solve(inst)
    assert result.has_plan and result.tables["schedule"].empty
    assert result.tables["served"].empty
    page = write_report(write_result(result, tmp_path / "plan")).read_text(encoding="utf-8")
    keys = {k.split("-")[1] for k in _figures(page)}
    assert "timeline" not in keys and "latency" not in keys
    assert "no phase built: the plan adds no capacity" in page
    assert "no served demand with a latency target: no latency to draw" in page
    assert {"grid", "costs", "service"} <= keys  # the rest is drawn


def test_map_title_says_how_many_candidates_were_opened(gen_folder, tmp_path):
    """The map's title tells a planner what it shows (it said "(N traces)", a plotting detail)."""
    copy = tmp_path / "plan"
    shutil.copytree(gen_folder, copy)
    sites = pd.read_csv(copy / "sites.csv")
    sites.loc[sites.index[-1:], "open_year"] = None
    sites.to_csv(copy / "sites.csv", index=False)
    page = write_report(copy).read_text(encoding="utf-8")
    title = next(f for k, f in _figures(page).items() if "map" in k)["layout"]["title"]["text"]
    assert title == (f"Sites, demand regions and fiber: {len(sites) - 1} of {len(sites)} "
                     "candidate sites opened")


def test_no_section_repeats_its_name_as_a_heading_and_every_link_lands(gen_folder):
    """Each section's name is its one heading ("Map" then "Map" was shown twice), and every
    link of the page's navigation points at an element of the page."""
    page = write_report(gen_folder).read_text(encoding="utf-8")
    sections = re.findall(r"<section>(.*?)</section>", page, re.S)
    assert len(sections) >= 6  # summary, map, timeline, grid, money, service
    for body in sections:
        headings = re.findall(r"<h[23][^>]*>(.*?)</h[23]>", body)
        assert len(headings) == len(set(headings)), headings
    ids = set(re.findall(r'\bid="([^"]+)"', page))
    links = re.findall(r'<a href="#([^"]+)"', page)
    assert links and set(links) <= ids
    assert re.search(r'<h2 id="map">Map</h2>', page)  # the section is the link's target


def test_unserved_demand_is_a_table_with_one_row_per_region_and_class(folder, tmp_path):
    """The summary lists unserved demand as a table (region, class, mw_years, worst_mw,
    years, reason), not as one bullet per region and class; names are escaped."""
    copy = tmp_path / "plan"
    shutil.copytree(folder, copy)
    rows = [("r<1>", "sens", 2026, 4.0, "lead time"), ("r<1>", "sens", 2027, 1.5, "cost"),
            ("r2", "flex", 2026, 2.25, "cost")]
    pd.DataFrame(rows, columns=["region", "class", "year", "unserved_mw", "reason"]).assign(
        demand_mw=10.0).to_csv(copy / "unserved.csv", index=False)
    page = write_report(copy).read_text(encoding="utf-8")
    summary = re.search(r"<h2>Summary</h2>(.*?)</section>", page, re.S).group(1)
    assert "<li>" not in summary and "(2 rows;" in summary
    table = re.search(r'<table[^>]*class="dataframe numbers unserved"(.*?)</table>', summary,
                      re.S).group(1)
    head = re.findall(r"<th>(.*?)</th>", table)
    assert head == ["region", "class", "mw_years", "worst_mw", "years", "reason"]
    body = table.split("<tbody>")[1]
    cells = [re.findall(r"<td>(.*?)</td>", tr) for tr in re.findall(r"<tr>(.*?)</tr>", body,
                                                                       re.S)]
    assert cells == [["r&lt;1&gt;", "sens", "5.5", "4", "2026-2027", "lead time; cost"],
                     ["r2", "flex", "2.25", "2.25", "2026", "cost"]]


def test_service_chart_keeps_regions_in_order_when_a_class_is_never_served(tmp_path):
    """A region and class with demand but no MW served (only unserved rows) takes its place
    among the region's other classes in the service chart and table; it came last, after
    every served pair, as if a region of its own."""
    from siteopt.report.folder import ResultFolder

    served = pd.DataFrame({"site": ["A", "A", "A"], "region": ["R1", "R1", "R2"],
                           "class": ["cloud", "sens", "cloud"], "year": [2030] * 3,
                           "serve_mw": [5.0, 2.0, 4.0], "rtt_ms": [1.0] * 3,
                           "max_rtt_ms": [5.0] * 3})
    unserved = pd.DataFrame({"region": ["R1", "R2"], "class": ["ai", "sens"],
                             "year": [2030, 2030], "unserved_mw": [3.0, 1.0],
                             "reason": ["capacity", "latency"]})
    rf = ResultFolder(tmp_path, {}, {"served": served, "unserved": unserved}, None)
    chart = figures.service_charts(rf)[0]
    pairs = list(zip(chart.table["region"], chart.table["class"], strict=True))
    assert pairs == [("R1", "ai"), ("R1", "cloud"), ("R1", "sens"), ("R2", "cloud"),
                     ("R2", "sens")]
    assert list(chart.figure.data[0].x) == [f"{r} / {c}" for r, c in pairs]


def test_grid_and_budget_charts_title_their_value_axes(gen_folder, tmp_path):
    """The budget bars are read against an axis titled "USD M", and the grid panels against
    one titled "year" under every panel with none below it: both axes had no title (the unit
    only in the chart's title, a scroll away in a tall chart)."""
    from dataclasses import replace

    from siteopt.report.folder import read_result_folder

    rf = read_result_folder(gen_folder)
    budgets = next(c for c in figures.money_charts(rf) if c.key == "budgets")
    assert budgets.figure is not None and budgets.figure.layout.xaxis.title.text == "USD M"
    for count in range(1, 6):  # 1 to 5 zones: one or two columns, a last row full or not
        power = pd.concat([rf.tables["power"].assign(zone=f"z{k}") for k in range(count)])
        grid = figures.grid_chart(replace(rf, tables={**rf.tables, "power": power})).figure
        cols = 2 if count > 1 else 1
        titled = sorted(k for k in range(count) if grid.layout[
            "xaxis" if k == 0 else f"xaxis{k + 1}"].title.text == "year")
        assert titled == [k for k in range(count) if k + cols >= count], (count, titled)


def test_number_tables_count_their_rows_in_words():
    """A table of one row is summarised "(1 row)", not "(1 rows)"; others "(N rows)"."""
    from siteopt.report.tables import table_html

    assert "Numbers: Timeline (1 row)</summary>" in table_html(pd.DataFrame({"a": [1]}),
                                                                "Timeline")
    assert "Numbers: Grid (2 rows)</summary>" in table_html(pd.DataFrame({"a": [1, 2]}),
                                                            "Grid")
