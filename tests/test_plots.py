"""Plot helpers draw what the tables say (Agg backend, no display)."""

from __future__ import annotations

import matplotlib
import pandas as pd
import pytest

import siteopt
from siteopt import plots
from siteopt.io.write import write_result
from tests.conftest import TINY

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def result():
    return siteopt.solve(siteopt.load_instance(TINY / "committed-phase"))


def test_schedule_has_one_bar_per_phase(result, tmp_path):
    import matplotlib.pyplot as plt

    fig = plots.plot_schedule(result)
    bars = fig.axes[0].patches
    sched = result.tables["schedule"]
    assert len(bars) == len(sched) == 2
    assert sorted(b.get_x() for b in bars) == sorted(sched["online_year"])
    assert any(b.get_hatch() for b in bars)  # the committed phase
    folder = write_result(result, tmp_path / "r")  # a result folder works as well
    assert len(plots.plot_schedule(folder).axes[0].patches) == 2
    plt.close("all")


def test_capacity_and_power(result):
    import matplotlib.pyplot as plt

    fig = plots.plot_capacity(result)
    assert fig.axes[0].get_ylabel() == "IT MW online"
    fig = plots.plot_power(result)
    zones = result.tables["power"]["zone"].unique()
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == list(zones)
    plt.close("all")


def test_sweep_views():
    import matplotlib.pyplot as plt

    table = pd.DataFrame({
        "a": [1.0, 1.0, 2.0, 2.0], "b": [0.5, 1.0, 0.5, 1.0], "has_plan": [True] * 3 + [False],
        "objective": [10.0, 20.0, 30.0, None],
        "open_year.S1": pd.array([2030, None, 2031, None], dtype="Int64"),
        "open_year.S2": pd.array([None, None, None, None], dtype="Int64"),
    })
    fig = plots.plot_heatmap(table, "a", "b")
    data = fig.axes[0].images[0].get_array()
    assert data[0, 0] == 10.0 and data[1, 0] == 20.0 and data[0, 1] == 30.0
    assert data.mask[1, 1]  # no plan: blank
    fig = plots.plot_sites_opened(table, ["a", "b"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["S1"]  # S2 never opens
    assert sorted(t.get_text() for t in ax.texts) == ["'30", "'31"]
    plt.close("all")


def test_power_limits_are_centred_on_the_bars_and_cover_the_last_year(result):
    import matplotlib.pyplot as plt
    from matplotlib.patches import StepPatch

    power = result.tables["power"]
    fig = plots.plot_power(result)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    for ax, (_zone, g) in zip(panels, power.groupby("zone", sort=False), strict=True):
        g = g.sort_values("year")
        years = g["year"].to_numpy()
        bars = [p for p in ax.patches if not isinstance(p, StepPatch)]
        assert [b.get_x() + b.get_width() / 2 for b in bars] == pytest.approx(list(years))
        assert [b.get_height() for b in bars] == pytest.approx(list(g["power_mw"]))
        limit = next(p for p in ax.patches if isinstance(p, StepPatch)
                     and p.get_label() == "limit")
        values, edges = limit.get_data()[:2]
        assert list(values) == pytest.approx(list(g["limit_mw"]))  # the last year included
        assert list(edges) == pytest.approx([*(years - 0.5), years[-1] + 0.5])
        assert ax.get_xlabel() == "year"
        assert [t.get_text() for t in ax.get_xticklabels()]  # every panel has its years
    plt.close("all")


def test_capacity_keeps_the_last_year(result):
    import matplotlib.pyplot as plt

    cap = result.tables["capacity"].groupby("year")["capacity_mw"].sum()
    years = sorted(result.tables["costs"]["year"])
    fig = plots.plot_capacity(result)
    totals: dict[float, float] = {}
    for bar in fig.axes[0].patches:
        x = round(bar.get_x() + bar.get_width() / 2)
        totals[x] = max(totals.get(x, 0.0), bar.get_y() + bar.get_height())
    assert sorted(totals) == years
    assert [totals[y] for y in years] == pytest.approx([cap.get(y, 0.0) for y in years])
    plt.close("all")


def test_heatmap_marks_exactly_the_cells_not_proven_optimal():
    """Drawn hatches and '*' texts read back: they sit on the time-limited scenarios only."""
    import matplotlib.pyplot as plt

    table = pd.DataFrame({
        "a": [1.0, 1.0, 1.0, 2.0, 2.0, 2.0],
        "b": [0.5, 1.0, 2.0, 0.5, 1.0, 2.0],
        "status": ["optimal", "time_limit", "optimal", "infeasible", "optimal", "time_limit"],
        "has_plan": [True, True, True, False, True, False],
        "objective": [10.0, 20.0, 30.0, None, 50.0, None],
        "gap": [0.001, 0.034, 0.004, None, 0.02, None],
    })
    table["value"] = table["objective"]

    def marked(fig):
        ax = fig.axes[0]
        hatched = {(round(p.get_y() + 0.5), round(p.get_x() + 0.5)) for p in ax.patches
                   if p.get_gid() == "unproven" and p.get_hatch()}
        starred = {(round(t.get_position()[1]), round(t.get_position()[0]))
                   for t in ax.texts if "*" in t.get_text() and t.get_gid() != "mark-note"}
        assert hatched == starred == set(ax.marked_cells)
        return hatched, ax

    # rows are b (0.5, 1, 2), columns a (1, 2): (row, column)
    cells, ax = marked(plots.plot_heatmap(table, "a", "b", mark=True))
    assert cells == {(1, 0), (2, 1)}  # the two time_limit scenarios, not the infeasible one
    texts = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text()
             for t in ax.texts if t.get_gid() != "mark-note"}
    assert texts[(1, 0)] == "20*\ngap 3.4%" and texts[(2, 1)] == "-*"
    assert texts[(0, 1)] == "-" and texts[(0, 0)] == "10"
    assert any("not proven optimal" in t.get_text() for t in ax.texts)
    # a gap above the target marks the cell too (a = 2, b = 1: gap 2 % > 0.5 %)
    cells, _ = marked(plots.plot_heatmap(table, "a", "b", mark=True, gap_target=0.005))
    assert cells == {(1, 0), (2, 1), (1, 1)}
    # without mark nothing is hatched (the default stays as it was)
    cells, _ = marked(plots.plot_heatmap(table, "a", "b"))
    assert cells == set()
    plt.close("all")


def test_heatmap_text_reads_on_every_cell_and_the_colorbar_sits_beside_it():
    """White on viridis' light yellow end cannot be read; and the note under a marked heatmap
    is wrapped, so the layout does not push the colorbar away from a narrow heatmap."""
    import matplotlib.pyplot as plt

    table = pd.DataFrame({"a": [50.0, 50.0, 150.0, 150.0], "b": [1.0, 1.3, 1.0, 1.3],
                          "status": ["optimal", "time_limit", "optimal", "optimal"],
                          "gap": [0.004, 0.0125, 0.002, 0.004],
                          "objective": [5027.0, 5209.0, 6644.0, 6845.0]})
    fig = plots.plot_heatmap(table, "a", "b", mark=True, gap_target=0.005)
    ax, bar = fig.axes
    ink = {t.get_text().split("*")[0]: t.get_color() for t in ax.texts
           if t.get_gid() != "mark-note"}
    assert ink["6,845"] == "black" and ink["5,027"] == "white"
    fig.canvas.draw()
    gap = bar.get_position().x0 - ax.get_position().x1
    assert 0 < gap < 0.1, gap
    plt.close("all")


def test_heatmap_y_label_fits_in_the_figure():
    """A long override key on a two-row heatmap is not clipped at the figure's edge."""
    import matplotlib.pyplot as plt

    y = "cooling[cooling=immersion].capex_factor"
    table = pd.DataFrame({"a": [50.0, 50.0, 150.0, 150.0], y: [1.0, 1.3, 1.0, 1.3],
                          "status": ["optimal", "time_limit", "optimal", "optimal"],
                          "gap": [0.0, 0.0125, 0.0, 0.0], "objective": [1.0, 2.0, 3.0, 4.0]})
    fig = plots.plot_heatmap(table, "a", y, mark=True, gap_target=0.005)  # with its note
    renderer = fig.canvas.get_renderer()
    fig.canvas.draw()
    label = fig.axes[0].yaxis.label.get_window_extent(renderer)
    assert label.y0 >= 0 and label.y1 <= fig.bbox.height, (label, fig.bbox)
    plt.close("all")


#: Names matplotlib would read as mathtext (an even number of `$`) or that hold `_` and `\`.
ODD = ["s$_1$", "$\\alpha$ x", "a$b$c", "z_1\\n", "$"]


def _drawn_as_typed(fig, texts: list, typed: list[str]) -> None:
    """Each of `texts` (matplotlib Text artists) renders with the size of its `typed` string
    drawn without mathtext: "s$_1$" read as math renders narrower (a subscript 1)."""
    from matplotlib.text import Text

    assert len(texts) == len(typed) > 0
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for shown, want in zip(texts, typed, strict=True):
        ref = Text(text=want, parse_math=False)
        ref.update_from(shown)  # font, size, rotation; not parse_math
        ref.set_figure(fig)
        got, expect = shown.get_window_extent(renderer), ref.get_window_extent(renderer)
        assert (got.width, got.height) == pytest.approx((expect.width, expect.height),
                                                         abs=0.5), want


def test_names_with_dollars_and_backslashes_are_drawn_as_typed(result):
    """Sites, phases, zones and cooling named with `$`, `_` or `\\` are drawn as typed in every
    plan plot (rendered and measured, not only the label strings compared)."""
    import matplotlib.pyplot as plt

    rename = {}
    tables = {}
    for key, frame in result.tables.items():
        frame = frame.copy()
        for col in ("site", "zone", "phase", "cooling"):
            if col in frame:
                for v in frame[col].dropna().unique():
                    rename.setdefault(v, f"{ODD[len(rename) % len(ODD)]}{len(rename)}")
                frame[col] = frame[col].map(lambda v: rename.get(v, v))
        tables[key] = frame
    sched = tables["schedule"].sort_values(["site", "online_year", "phase"])
    fig = plots.plot_schedule(tables)
    ax = fig.axes[0]
    _drawn_as_typed(fig, ax.get_yticklabels(),
                    [f"{s} {p}" for s, p in zip(sched["site"], sched["phase"], strict=True)])
    _drawn_as_typed(fig, ax.texts, [f"{mw:g} MW {c}" for mw, c in
                                    zip(sched["it_mw"], sched["cooling"], strict=True)])
    fig = plots.plot_capacity(tables)
    sites = sorted(tables["capacity"]["site"].unique())
    _drawn_as_typed(fig, fig.axes[0].get_legend().get_texts(), sites)
    fig = plots.plot_power(tables)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    _drawn_as_typed(fig, [ax.title for ax in panels], list(tables["power"]["zone"].unique()))
    plt.close("all")


def test_sweep_names_with_dollars_are_drawn_as_typed():
    """Override columns, their text values, the value's name and site ids with `$` read as
    typed in the heatmap and the sites-opened view."""
    import matplotlib.pyplot as plt

    x, y, value = "price $USD$", "zone_a\\b", "cost $_M$"
    table = pd.DataFrame({
        x: ["$lo$", "$lo$", "$hi$", "$hi$"], y: [0.5, 1.0, 0.5, 1.0], "has_plan": [True] * 4,
        value: [1.0, 2.0, 3.0, 4.0],
        "open_year.s$_1$": pd.array([2030, None, 2031, None], dtype="Int64")})
    fig = plots.plot_heatmap(table, x, y, value)
    ax = fig.axes[0]
    _drawn_as_typed(fig, [ax.xaxis.label, ax.yaxis.label, ax.title, fig.axes[1].yaxis.label],
                    [x, y, value, value])
    _drawn_as_typed(fig, ax.get_xticklabels(), ["$hi$", "$lo$"])
    fig = plots.plot_sites_opened(table, [x])
    ax = fig.axes[0]
    _drawn_as_typed(fig, [ax.xaxis.label, *ax.get_yticklabels()], [x, "s$_1$"])
    _drawn_as_typed(fig, ax.get_xticklabels(), list(table.sort_values(x)[x]))
    plt.close("all")
