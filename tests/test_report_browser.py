"""The HTML report in a real browser: Debian's Chromium, headless, driven by Playwright.

The network is blocked (every non-file request is aborted and recorded), so a report that
tried to fetch anything fails here. Under CI=true a missing Chromium or Playwright fails the
tests; locally they are skipped with the reason. A chart counts as drawn when its plot
area's pixels change with its traces made transparent (`_traces_show`). Screenshots are saved
in pytest's tmp dir and copied to $SITEOPT_ARTIFACTS when set. The Vietnam instance is
solved once per session (to a 1 % gap); the other tests use a generated tiny instance.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import siteopt
from siteopt.io.write import write_result
from siteopt.report.html import write_report
from tests.conftest import VIETNAM

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
#: Least mean grey-level change of a chart's plot area when its traces are made transparent.
MIN_SHOW = 0.05  # a drawn chart: 0.25 (value curve, thin lines) to 46; nothing drawn: 0


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.is_file():
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed (pip install playwright)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report-artifacts")
    yield folder
    target = os.environ.get("SITEOPT_ARTIFACTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        for f in folder.iterdir():
            shutil.copy2(f, Path(target) / f.name)


@pytest.fixture(scope="session")
def tiny_report(tmp_path_factory):
    from siteopt.synth.generate import PRESETS, generate_instance

    base = tmp_path_factory.mktemp("tiny-report")
    generate_instance(PRESETS["tiny"], base / "inst")
    result = siteopt.solve(siteopt.load_instance(base / "inst"))
    assert result.verified
    folder = write_result(result, base / "plan")
    return folder, write_report(folder)


@pytest.fixture(scope="session")
def vietnam_report(tmp_path_factory):
    result = siteopt.solve(siteopt.load_instance(VIETNAM), gap=0.01, time_limit=300)
    assert result.verified and result.has_plan
    folder = write_result(result, tmp_path_factory.mktemp("vietnam") / "plan")
    return folder, write_report(folder)


class Opened:
    """A report opened with the network blocked: its page, requests and console errors."""

    def __init__(self, browser, path: Path, width: int = 1400, height: int = 1000):
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.blocked: list[str] = []
        self.requests: list[str] = []
        self.errors: list[str] = []

        def route(r):
            if r.request.url.startswith("file://"):
                r.continue_()
            else:
                self.blocked.append(r.request.url)
                r.abort()

        self.context.route("**/*", route)
        self.page = self.context.new_page()
        self.page.on("request", lambda req: self.requests.append(req.url))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error"
                     else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(path.as_uri())
        self.load_ms = self.page.evaluate(
            "performance.timing.loadEventEnd - performance.timing.navigationStart")

    def render_all(self) -> None:
        self.page.evaluate("() => window.siteoptRenderAll()")

    def figures(self) -> dict[str, list[dict]]:
        """Each drawn figure's traces (meta, name, x, y, customdata) by its div id."""
        return self.page.evaluate("""() => {
            const out = {};
            const arr = v => v == null ? [] : Array.from(v);
            for (const d of document.querySelectorAll('.js-plotly-plot')) {
                out[d.id] = d.data.map(t => ({meta: t.meta || null, name: t.name || null,
                    x: arr(t.x), y: arr(t.y), customdata: arr(t.customdata)}));
            }
            return out;
        }""")

    def on_chart(self, key: str, body: str) -> object:
        """Evaluate the JavaScript `body` with `d` the drawn chart whose id starts with
        fig-KEY-; returns what `body` returns."""
        find = """const d = Array.from(document.querySelectorAll('.js-plotly-plot'))
                .find(e => e.id.startsWith(`fig-${key}-`));"""
        return self.page.evaluate("(key) => {" + find + body + "}", key)

    def close(self) -> None:
        self.context.close()


@contextlib.contextmanager
def _rendered(browser, path: Path) -> Iterator[Opened]:
    """The report at `path` opened with every chart drawn and no error on the page."""
    opened = Opened(browser, path)
    try:
        opened.render_all()
        assert opened.errors == []
        yield opened
    finally:
        opened.close()


def _figure(figs: dict[str, list[dict]], key: str) -> list[dict]:
    return next(traces for fid, traces in figs.items() if fid.startswith(f"fig-{key}-"))


def _grey(png: bytes):  # numpy array; numpy is imported lazily, like PIL
    """The screenshot as a float array of grey levels (0-255)."""
    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float)


def _plot_area(opened: Opened, key: str) -> dict[str, float]:
    """The screen box of one drawn chart's plot area (scrolled into view), for a screenshot."""
    return opened.page.evaluate("""(key) => {
        const d = document.querySelector(`div.lazy-plot[id^='fig-${key}-']`);
        d.scrollIntoView();
        const r = d.querySelector('.nsewdrag').getBoundingClientRect();
        return {x: r.x, y: r.y, width: r.width, height: r.height};
    }""", key)


def _traces_show(opened: Opened, key: str, path: Path) -> float:
    """How much one drawn chart's traces show: the mean absolute grey-level difference of its
    plot area with its traces drawn (saved as `path`) and made transparent.

    Not the page's pixel variance: the page's dark header alone is far from blank, and axes,
    the legend and reference lines are drawn even when every trace is invisible; a chart
    whose traces draw nothing visible gives 0 here.
    """
    clip = _plot_area(opened, key)
    shown = _grey(opened.page.screenshot(path=str(path), clip=clip))
    restyle = """([key, on]) => {
        const d = document.querySelector(`div.lazy-plot[id^='fig-${key}-']`);
        if (!on) d._siteoptOpacity = d.data.map(t => t.opacity === undefined ? 1 : t.opacity);
        return Plotly.restyle(d, {opacity: on ? d._siteoptOpacity : 0}).then(() => null);
    }"""
    opened.page.evaluate(restyle, [key, False])
    hidden = _grey(opened.page.screenshot(clip=clip))
    opened.page.evaluate(restyle, [key, True])
    return float(abs(shown - hidden).mean())


def _check_plan_page(opened: Opened, folder: Path) -> None:
    import pandas as pd

    opened.render_all()
    assert opened.errors == []
    assert opened.blocked == []
    assert all(u.startswith("file://") for u in opened.requests), opened.requests
    figs = opened.figures()
    sites = pd.read_csv(folder / "sites.csv")
    schedule = pd.read_csv(folder / "schedule.csv")
    summary = json.loads((folder / "summary.json").read_text())
    inst = siteopt.load_instance(summary["instance_path"])
    # the map: exactly the opened sites, the candidates not opened, every fiber link
    traces = _figure(figs, "map")
    opened_sites = sorted(s for t in traces if t["meta"] == "site-opened"
                          for s in t["customdata"])
    assert opened_sites == sorted(sites.loc[sites["open_year"].notna(), "site"])
    closed = sorted(s for t in traces if t["meta"] == "site-candidate" for s in t["customdata"])
    assert closed == sorted(sites.loc[sites["open_year"].isna(), "site"])
    links = next(t for t in traces if t["meta"] == "link")
    assert links["x"].count(None) == len(inst.table("links"))
    # the Gantt chart: one bar per built phase
    gantt = [t for t in _figure(figs, "timeline") if t["meta"] == "phase"]
    labels = sorted(y for t in gantt for y in t["y"])
    assert labels == sorted(f"{s} {p}" for s, p in zip(schedule["site"], schedule["phase"],
                                                         strict=True))


def _hover_site(opened: Opened) -> tuple[str, str]:
    """Hover the first opened site on the map; its id and the hover label's text."""
    return tuple(opened.page.evaluate("""() => {
        const d = Array.from(document.querySelectorAll('.js-plotly-plot'))
            .find(e => e.id.startsWith('fig-map-'));
        d.scrollIntoView();
        const i = d.data.findIndex(t => t.meta === 'site-opened');
        Plotly.Fx.hover(d, [{curveNumber: i, pointNumber: 0}]);
        return [d.data[i].customdata[0], d.querySelector('.hoverlayer').textContent];
    }"""))


def test_tiny_report_in_chromium(browser, tiny_report, artifacts):
    folder, path = tiny_report
    opened = Opened(browser, path)
    try:
        _check_plan_page(opened, folder)
        site, text = _hover_site(opened)
        import pandas as pd

        schedule = pd.read_csv(folder / "schedule.csv")
        for r in schedule[schedule["site"] == site].itertuples(index=False):
            assert f"{r.phase}: " in text and f"online {r.online_year}" in text
        opened.page.evaluate("window.scrollTo(0, 0)")
        opened.page.screenshot(path=str(artifacts / "report-tiny.png"))
        assert _traces_show(opened, "map", artifacts / "report-tiny-map.png") > MIN_SHOW
    finally:
        opened.close()


def test_service_overlay_switches_on(browser, tiny_report):
    _folder, path = tiny_report
    opened = Opened(browser, path)
    try:
        opened.render_all()
        visible = opened.page.evaluate("""() => {
            const d = Array.from(document.querySelectorAll('.js-plotly-plot'))
                .find(e => e.id.startsWith('fig-map-'));
            const idx = d.data.map((t, i) => t.meta === 'service' ? i : -1).filter(i => i >= 0);
            const before = idx.map(i => d.data[i].visible);
            return Plotly.restyle(d, {visible: true}, idx).then(
                () => [before, idx.map(i => d.data[i].visible)]);
        }""")
        before, after = visible
        assert before and all(v is False for v in before) and all(after)
    finally:
        opened.close()


def test_vietnam_report_in_chromium(browser, vietnam_report, artifacts, tmp_path):
    folder, path = vietnam_report
    size = path.stat().st_size
    assert size < 5_000_000
    # plotly.js alone, for the load time on this machine
    from siteopt.report.html import plotlyjs

    bare = tmp_path / "plotly-only.html"
    bare.write_text(f"<html><head><script>{plotlyjs()[0]}</script></head><body></body></html>")
    opened = Opened(browser, bare)
    bare_ms = opened.load_ms
    opened.close()
    opened = Opened(browser, path)
    try:
        load_ms = opened.load_ms
        opened.page.screenshot(path=str(artifacts / "report-vietnam.png"))
        _check_plan_page(opened, folder)
        assert _traces_show(opened, "map", artifacts / "report-vietnam-map.png") > MIN_SHOW
        site, text = _hover_site(opened)
        assert site in text and "online" in text
        (artifacts / "report-vietnam.json").write_text(json.dumps(
            {"bytes": size, "load_ms": load_ms, "plotly_only_load_ms": bare_ms}) + "\n")
        # the page adds little to parsing plotly.js (the figures are drawn lazily); on an
        # idle machine both are well under 2 s
        assert load_ms < max(2000, bare_ms + 1000), (load_ms, bare_ms)
    finally:
        opened.close()


@pytest.fixture(scope="session")
def decision_reports(tmp_path_factory):
    """A value folder (grid-upgrade: its zone headroom binds) and an alternatives folder."""
    from siteopt.decide.alternatives import near_optimal_plans
    from siteopt.decide.value import value_of_inputs
    from tests.conftest import TINY
    from tests.test_value import two_sites

    base = tmp_path_factory.mktemp("decisions")
    inst = siteopt.load_instance(TINY / "grid-upgrade")
    value = value_of_inputs(inst, headroom_deltas=(10, 50), latency_step=None).write(
        base / "value")
    inst = siteopt.load_instance(two_sites(base / "inst", headroom_z=100))
    alt = near_optimal_plans(inst, slack=0.6, count=2).write(base / "alt")
    hedge = Path(__file__).parent / "data" / "stochastic-hedge"
    two = siteopt.write_stochastic(siteopt.solve_stochastic(
        siteopt.load_instance(hedge), hedge / "scenarios.toml"), base / "two")
    return write_report(value), write_report(alt), write_report(two)


@pytest.mark.parametrize("which,key", [(0, "value-headroom"), (1, "alternatives-cost"),
                                       (2, "stochastic-costs")])
def test_decision_reports_in_chromium(browser, decision_reports, artifacts, which, key):
    path = decision_reports[which]
    opened = Opened(browser, path)
    try:
        opened.render_all()
        assert opened.errors == [] and opened.blocked == []
        figs = opened.figures()
        traces = _figure(figs, key)
        assert traces and all(t["meta"].startswith(key.split("-")[0]) for t in traces)
        assert any(fid.startswith("fig-timeline-") for fid in figs)  # the plan follows
        opened.page.evaluate("window.scrollTo(0, 0)")
        opened.page.screenshot(path=str(artifacts / f"report-{key}.png"))
        assert _traces_show(opened, key, artifacts / f"report-{key}-chart.png") > MIN_SHOW
    finally:
        opened.close()


def test_names_with_html_show_as_typed_in_chromium(browser, marked_folder):
    """A site named "<b>s001</b>" hovers as "<b>s001</b>", not as a bold s001; a zone named
    "<i>z001</i>&amp;" titles its grid panel as typed."""
    folder, ids = marked_folder
    with _rendered(browser, write_report(folder)) as opened:
        site, text = _hover_site(opened)
        assert site.startswith("<b>") and site in text  # the tags are text, not markup
        zone = next(i for i in ids if i.startswith("z0"))
        titles = opened.on_chart("grid", "return Array.from(d.querySelectorAll("
                                 "'.annotation-text')).map(e => e.textContent);")
        assert f"<i>{zone}</i>&amp;" in titles


def _pixels_drawn(opened: Opened, key: str, meta: str, path: Path) -> int:
    """How many pixels of one chart's plot area the traces labelled `meta` draw: those whose
    grey level changes by more than 30 when these traces are made transparent."""
    import numpy as np

    clip = _plot_area(opened, key)
    shown = _grey(opened.page.screenshot(path=str(path), clip=clip))
    opened.page.evaluate("""([key, meta]) => {
        const d = document.querySelector(`div.lazy-plot[id^='fig-${key}-']`);
        const idx = d.data.map((t, i) => t.meta === meta ? i : -1).filter(i => i >= 0);
        return Plotly.restyle(d, {opacity: 0}, idx).then(() => null);
    }""", [key, meta])
    hidden = _grey(opened.page.screenshot(clip=clip))
    return int(np.count_nonzero(abs(shown - hidden) > 30))


def test_candidates_not_opened_and_budget_limits_are_visible(browser, tiny_report, tmp_path,
                                                            artifacts):
    """The map's candidates not opened (hollow rings) and the budget chart's limit ticks are
    drawn in a colour that shows; a white ring showed nothing on the map or in the legend."""
    import pandas as pd

    folder, _path = tiny_report
    copy = tmp_path / "plan"
    shutil.copytree(folder, copy)
    sites = pd.read_csv(copy / "sites.csv")
    sites.loc[sites.index[-2:], "open_year"] = None  # two candidates the plan did not open
    sites.to_csv(copy / "sites.csv", index=False)
    with _rendered(browser, write_report(copy)) as opened:
        assert _pixels_drawn(opened, "map", "site-candidate",
                             artifacts / "report-candidates.png") > 60  # white: 17
        colour = opened.on_chart("budgets", "return getComputedStyle("
                                 "d.querySelector('.scatterlayer .point')).stroke;")
        assert colour == "rgb(0, 0, 0)"  # the limits are black, as the legend says


def test_grid_title_does_not_touch_the_zone_names(browser, tiny_report):
    """The grid chart's title ends above its first row of zone names (they overlapped)."""
    with _rendered(browser, tiny_report[1]) as opened:
        title_bottom, first_zone_top = opened.on_chart("grid", """
            const zones = Array.from(d.querySelectorAll('.annotation'))
                .map(e => e.getBoundingClientRect().top);
            return [d.querySelector('.gtitle').getBoundingClientRect().bottom,
                    Math.min(...zones)];""")
        assert title_bottom + 4 <= first_zone_top


def test_sweep_without_unserved_demand_has_no_negative_axis(browser, tmp_path):
    """A sweep whose scenarios all serve every MW: the unserved axis starts at 0 (it ran
    from -1 to 1, reading as negative MW-years)."""
    from tests.conftest import TINY

    out = tmp_path / "sweep"
    table = siteopt.run_scenarios(out, instance=TINY / "grid-upgrade",
                                  grid={"demand.scale": [0.8, 1.0]}, workers=0)
    assert (table["unserved_mw_years"] == 0).all()
    with _rendered(browser, write_report(out)) as opened:
        low, _high = opened.on_chart("sweep", "return d._fullLayout.yaxis2.range;")
        assert low >= 0


def test_timeline_shows_the_years_at_the_top_too(browser, tiny_report):
    """The Gantt chart labels its years above the first bar as well as below the last: the
    top rows of a tall timeline were a screen away from the only year axis."""
    with _rendered(browser, tiny_report[1]) as opened:
        top, bottom, bars = opened.on_chart("timeline", """
            const ticks = cls => Array.from(d.querySelectorAll(`.${cls} text`)).map(
                e => [e.textContent, e.getBoundingClientRect().bottom,
                      e.getBoundingClientRect().top]);
            const boxes = Array.from(d.querySelectorAll('.barlayer .point path'))
                .map(e => e.getBoundingClientRect()).filter(r => r.height > 0);
            return [ticks('x2tick'), ticks('xtick'),
                    [Math.min(...boxes.map(r => r.top)), Math.max(...boxes.map(r => r.bottom))]];
            """)
        assert [t[0] for t in top] == [t[0] for t in bottom] and len(top) >= 2
        assert max(t[1] for t in top) <= bars[0]  # above the first bar
        assert min(t[2] for t in bottom) >= bars[1]  # below the last one


def test_report_without_a_plan_renders_without_plotly(browser, tmp_path):
    """A folder without a plan (infeasible) gets a small page without plotly.js (no chart
    needs it) that still opens without a console error and shows why there is no plan."""
    from tests.conftest import TINY

    result = siteopt.solve(siteopt.load_instance(TINY / "infeasible-capacity"))
    assert not result.has_plan
    path = write_report(write_result(result, tmp_path / "plan"))
    assert path.stat().st_size < 50_000  # the plan pages inline 1.5 MB of plotly.js
    with _rendered(browser, path) as opened:
        assert opened.blocked == []
        assert opened.page.evaluate("typeof window.Plotly") == "undefined"
        text = opened.page.inner_text("main")
        assert "why there is no plan: 2030: total demand 20.00 IT MW exceeds" in text


#: Every text on the map that names a site: plotly's own marker text and the page's labels
#: (annotations), as [text, left, top, right, bottom] on screen; and the plot area's box.
_MAP_LABELS = """() => {
    const d = Array.from(document.querySelectorAll('.js-plotly-plot'))
        .find(e => e.id.startsWith('fig-map-'));
    const box = e => { const r = e.getBoundingClientRect();
                       return [e.textContent, r.left, r.top, r.right, r.bottom]; };
    const labels = Array.from(d.querySelectorAll(
        '.scatterlayer .textpoint text, .annotation .annotation-text'))
        .map(box).filter(b => b[3] > b[1]);
    return [labels, box(d.querySelector('.nsewdrag')).slice(1)];
}"""


def _overlapping(labels: list[list]) -> list[tuple[str, str]]:
    """The pairs of labels whose boxes intersect on screen."""
    return [(a[0], b[0]) for i, a in enumerate(labels) for b in labels[i + 1:]
            if a[1] < b[3] and b[1] < a[3] and a[2] < b[4] and b[2] < a[4]]


def _labels_settled(opened: Opened, expected: list[str]) -> tuple[list[list], list[float]]:
    """The map's site labels once they name exactly `expected` inside the plot area without
    overlapping (the page lays them out again after a zoom or resize), or as they are after
    10 s of waiting."""
    with contextlib.suppress(Exception):
        opened.page.wait_for_function(
            "([expected]) => { const [labels, a] = (" + _MAP_LABELS + ")();"
            " const ok = labels.every(b => b[1] >= a[0] && b[3] <= a[2] && b[2] >= a[1]"
            " && b[4] <= a[3]) && labels.every((b, i) => labels.slice(i + 1).every("
            " c => !(b[1] < c[3] && c[1] < b[3] && b[2] < c[4] && c[2] < b[4])));"
            " return ok && JSON.stringify(labels.map(b => b[0]).sort())"
            " === JSON.stringify(expected); }", arg=[sorted(expected)], timeout=10_000)
    labels, _area = opened.page.evaluate(_MAP_LABELS)
    return labels, _area


def test_map_site_labels_do_not_overlap(browser, vietnam_report, artifacts):
    """Every opened site of the Vietnam plan is named on the map, and no two names overlap on
    screen, nor leave the plot area: the three Ho Chi Minh City sites (shtp, cuchi, vsip, a few
    km apart) and the two Hanoi West ones were drawn on top of each other. Checked on a wide
    and a narrow window and after zooming into Ho Chi Minh City."""
    import pandas as pd

    folder, path = vietnam_report
    sites = pd.read_csv(folder / "sites.csv")
    opened_ids = sorted(sites.loc[sites["open_year"].notna(), "site"])
    assert {"shtp", "cuchi", "vsip"} <= set(opened_ids)  # the crowded corner is on the map
    with _rendered(browser, path) as opened:
        for width in (1400, 760):
            opened.page.set_viewport_size({"width": width, "height": 1000})
            labels, (left, top, right, bottom) = _labels_settled(opened, opened_ids)
            assert sorted(b[0] for b in labels) == opened_ids, (width, labels)
            assert _overlapping(labels) == [], (width, labels)
            assert all(left <= b[1] and b[3] <= right and top <= b[2] and b[4] <= bottom
                       for b in labels), (width, labels)
            opened.on_chart("map", "d.scrollIntoView();")
            opened.page.screenshot(path=str(artifacts / f"report-map-labels-{width}.png"))
        opened.on_chart("map", "return Plotly.relayout(d, {'xaxis.range': [106.3, 107.1],"
                               " 'yaxis.range': [10.6, 11.2]}).then(() => null);")
        labels, _area = _labels_settled(opened, ["cuchi", "shtp", "vsip"])
        assert sorted(b[0] for b in labels) == ["cuchi", "shtp", "vsip"], labels
        assert _overlapping(labels) == [], labels


@pytest.mark.parametrize("values,unit", [([2027.0, 2028.0, None], "year"),
                                         ([109.0, 252.0, 124.0], "IT MW"),
                                         ([3.0, 3.0, 3.0], "IT MW")])
def test_heat_map_colour_bar_reads_distinct_whole_numbers(browser, tmp_path, values, unit):
    """The alternatives' heat maps (first online year, IT MW per zone) label their colour bar
    with distinct whole numbers: plotly's own half-year steps printed 2027, 2028, 2028."""
    import pandas as pd

    from siteopt.report.decisions import alternatives_matrix_chart
    from siteopt.report.html import plotlyjs

    table = pd.DataFrame({"id": ["optimum", "alt01", "alt02"], "v.s1": values,
                          "v.s2": values[::-1]})
    chart = alternatives_matrix_chart(table, "v.", "alternatives-first", "heat map", unit)
    assert chart.figure is not None
    path = tmp_path / "heat.html"
    path.write_text(f"<html><head><script>{plotlyjs()[0]}</script></head><body>"
                    "<div id='d' class='js-plotly-plot'></div><script>const f = "
                    + chart.figure.to_json().replace("</", "<\\/")
                    + "; Plotly.newPlot('d', f.data, f.layout);</script></body></html>",
                    encoding="utf-8")
    opened = Opened(browser, path)
    try:
        assert opened.errors == []
        ticks = opened.page.evaluate("() => Array.from(document.querySelectorAll("
                                     "'.colorbar .cbaxis text')).map(e => e.textContent)")
        numbers = [float(t.replace(",", "").replace("\u2212", "-")) for t in ticks]
        assert ticks and len(set(ticks)) == len(ticks), ticks
        assert all(n == int(n) for n in numbers), ticks
    finally:
        opened.close()
