"""Plots of a plan and of a sweep (matplotlib), for notebooks and reports.

Plan views take a `Result`, its `tables` dict, or a result folder written by `--out`:
`plot_schedule` (phase Gantt chart), `plot_capacity` (IT MW by site over time),
`plot_power` (facility power against the grid limit, one panel per zone).
Sweep views take the tidy table of `siteopt.scenarios.sweep` (`results.parquet`):
`plot_heatmap` (a value such as the objective over two overrides) and `plot_sites_opened`
(which sites each scenario opens, and when). Each returns the matplotlib Figure.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from siteopt.io.write import renamed_columns

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Colours of the usual cooling technologies; others get the default cycle.
COOLING_COLOURS = {"legacy": "#9e9e9e", "air": "#4c72b0", "dlc": "#dd8452",
                   "immersion": "#55a868"}


def _tables(plan: object) -> dict[str, pd.DataFrame]:
    """The result tables of a Result, a dict of tables or a result folder.

    A folder written before a result column was renamed is read with the current names
    (`siteopt.io.write.renamed_columns`), so an older folder still draws.
    """
    if isinstance(plan, dict):
        return plan
    if isinstance(plan, str | Path):
        folder = Path(plan)
        return {p.stem: renamed_columns(p.stem, pd.read_csv(p)) for p in folder.glob("*.csv")}
    tables = getattr(plan, "tables", None)
    if tables is None:
        raise TypeError("expected a Result, a dict of result tables or a result folder")
    return tables


def plain(value: object) -> str:
    r"""User-given text (a site, zone, column or scenario value) for a matplotlib label.

    So that it shows as typed: matplotlib reads text with an even number of unescaped `$` as
    mathtext, so a site named "s$_1$" showed as "s" with a subscript 1, "$\alpha$" as a Greek
    letter, and "a$b$c" lost its dollars. Each `$` escaped as `\$` leaves no math to find,
    and matplotlib draws `\$` as `$`; `_` and `\` outside mathtext are drawn as they are.
    (Under the rcParam `text.usetex` every text goes through LaTeX, which this does not cover.)
    """
    return str(value).replace("$", r"\$")


def _figure(width: float, height: float) -> tuple[Figure, object]:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, height), layout="constrained")
    return fig, ax


def plot_schedule(plan: object, title: str = "Phase schedule") -> Figure:
    """Gantt chart: one bar per built phase from its online year to the horizon's end.

    Bars are coloured by cooling and hatched when committed; the label gives the IT MW.
    """
    t = _tables(plan)
    sched = t["schedule"].sort_values(["site", "online_year", "phase"]).reset_index(drop=True)
    last = int(t["costs"]["year"].max())
    first = int(t["costs"]["year"].min())
    fig, ax = _figure(9, 0.35 * max(len(sched), 3) + 1.2)
    for i, r in enumerate(sched.itertuples(index=False)):
        colour = COOLING_COLOURS.get(str(r.cooling), "#8172b3")
        ax.barh(i, last + 1 - r.online_year, left=r.online_year, color=colour,
                hatch="//" if bool(r.committed) else None, edgecolor="white")
        ax.text(r.online_year + 0.1, i, f"{r.it_mw:g} MW {plain(r.cooling)}", va="center",
                fontsize=8, color="white")
    ax.set_yticks(range(len(sched)), [f"{plain(s)} {plain(p)}" for s, p in
                                      zip(sched["site"], sched["phase"], strict=True)])
    ax.invert_yaxis()
    ax.set_xlim(first, last + 1)
    ax.set_xticks(range(first, last + 2))
    ax.set_xlabel("year online (hatched: committed)")
    ax.set_title(title)
    return fig


def plot_capacity(plan: object, title: str = "IT capacity by site") -> Figure:
    """Stacked bars of IT MW online per site and year (all coolings), centred on the year.

    Every year of the horizon has its bar, the last one included.
    """
    t = _tables(plan)
    cap = t["capacity"].pivot_table(index="year", columns="site", values="capacity_mw",
                                    aggfunc="sum", fill_value=0.0)
    years = sorted(int(y) for y in t["costs"]["year"])
    cap = cap.reindex(years, fill_value=0.0)
    fig, ax = _figure(9, 4.5)
    bottom = np.zeros(len(years))
    for site in cap.columns:
        values = cap[site].to_numpy(dtype=float)
        ax.bar(years, values, bottom=bottom, width=0.8, label=plain(site))
        bottom += values
    ax.set_xticks(years, [str(y) for y in years])
    ax.set_xlim(years[0] - 0.6, years[-1] + 0.6)
    ax.set_xlabel("year")
    ax.set_ylabel("IT MW online")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8, ncols=2)
    return fig


def plot_power(plan: object, title: str = "Facility power against the grid limit") -> Figure:
    """One panel per zone: facility MW drawn by its sites against headroom (+ upgrades).

    Bars are centred on their year; each year's limit (derated headroom plus upgrades, black)
    and headroom (grey, dotted) are drawn as a level over that year's bar, from year - 0.5 to
    year + 0.5, so a bar never seems to cross a limit it keeps; the last year included.
    Binding years (within 1 % of the limit) have red bars. Every panel has its year labels.
    """
    import matplotlib.pyplot as plt

    t = _tables(plan)
    power = t["power"]
    zones = list(dict.fromkeys(power["zone"]))
    cols = min(4, len(zones))
    rows = int(np.ceil(len(zones) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.8 * rows),
                             layout="constrained", squeeze=False)
    for ax, zone in zip(axes.ravel(), zones, strict=False):
        g = power[power["zone"] == zone].sort_values("year")
        years = g["year"].to_numpy(dtype=int)
        edges = np.append(years - 0.5, years[-1] + 0.5)
        tight = (g["binding"].astype(bool).to_numpy() if "binding" in g.columns else
                 (g["power_mw"] >= g["limit_mw"] - 1e-6).to_numpy() & (g["power_mw"] > 0))
        ax.bar(years, g["power_mw"], width=0.8, alpha=0.8, label="power",
               color=["#c44e52" if b else "#4c72b0" for b in tight])
        ax.stairs(g["limit_mw"].to_numpy(dtype=float), edges, color="black", label="limit",
                  baseline=None)
        ax.stairs(g["derated_headroom_mw"].to_numpy(dtype=float), edges, color="grey",
                  linestyle=":", label="headroom (derated)", baseline=None)
        ax.set_title(plain(zone), fontsize=9)
        step = max(1, int(np.ceil(len(years) / 6)))
        ax.set_xticks(years[::step], [str(y) for y in years[::step]], fontsize=7)
        ax.set_xlim(edges[0], edges[-1])
        ax.set_xlabel("year", fontsize=8)
    for ax in axes.ravel()[len(zones):]:
        ax.set_visible(False)
    axes.ravel()[0].legend(fontsize=7)
    fig.suptitle(title + " (red: binding)")
    fig.supylabel("facility MW")
    return fig


def plot_heatmap(table: pd.DataFrame, x: str, y: str, value: str = "objective",
                 title: str | None = None, fmt: str = "{:,.0f}", mark: bool = False,
                 gap_target: float | None = None) -> Figure:
    """A value of the sweep table (mean over repeats) over two override columns.

    Cells without a plan (infeasible, no plan in time) stay blank and are marked "-".
    With `mark`, cells whose plan is not proven optimal (some scenario of the cell has a
    status other than "optimal", e.g. "time_limit", or a gap above `gap_target` when given)
    are hatched, their text gets a "*" and the scenario's (largest) gap, and a note under
    the axes explains the mark; the marked (row, column) cells are `ax.marked_cells`.
    """
    grid = table.pivot_table(index=y, columns=x, values=value, aggfunc="mean", dropna=False)
    grid = grid.sort_index().sort_index(axis=1)
    # tall enough for the y label: override keys are long ("cooling[cooling=immersion]
    # .capex_factor") and were clipped at the top of a two-row heatmap
    fig, ax = _figure(1.1 * len(grid.columns) + 3,
                      max(0.6 * len(grid.index) + 2, 0.08 * len(str(y)) + 1.2))
    data = grid.to_numpy(dtype=float)
    im = ax.imshow(np.ma.masked_invalid(data), cmap="viridis", aspect="auto", origin="lower")
    flagged = _unproven(table, x, y, gap_target).reindex(
        index=grid.index, columns=grid.columns) if mark else None
    marked: list[tuple[int, int]] = []
    for (i, j), v in np.ndenumerate(data):
        text = "-" if np.isnan(v) else fmt.format(v)
        gap = np.nan if flagged is None else float(flagged.iat[i, j])
        if not np.isnan(gap):
            marked.append((i, j))
            text += "*" if np.isinf(gap) else f"*\ngap {100 * gap:.1f}%"
            ax.add_patch(_hatch(j, i))
        ax.text(j, i, text, ha="center", va="center", fontsize=8, color=_ink(im, v))
    ax.marked_cells = marked
    ax.set_xticks(range(len(grid.columns)), [_tick(c) for c in grid.columns])
    ax.set_yticks(range(len(grid.index)), [_tick(c) for c in grid.index])
    ax.set_xlabel(plain(x))
    ax.set_ylabel(plain(y))
    ax.set_title(title or plain(value))
    if mark:
        limit = "" if gap_target is None else f" or gap above {100 * gap_target:g}%"
        note = (f"* hatched: {len(marked)} cell(s) not proven optimal (stopped at a time limit"
                f"{limit}); the value is the best plan found" if marked
                else "all cells proven optimal (within the gap target)")
        # wrapped to the figure's width: a one-line note wider than the axes would push the
        # colorbar away from the heatmap (the constrained layout makes room for the note)
        width = max(30, int(16 * (fig.get_figwidth() - 2)))
        ax.annotate(textwrap.fill(note, width), xy=(0, 0), xycoords="axes fraction",
                    xytext=(0, -36),
                    textcoords="offset points", fontsize=7, va="top", gid="mark-note")
    fig.colorbar(im, ax=ax, label=plain(value))
    return fig


def _ink(image: object, value: float) -> str:
    """Black or white text, whichever reads on the cell's colour (black on a blank cell).

    The viridis end is light yellow: white text on it cannot be read.
    """
    if np.isnan(value):
        return "black"
    r, g, b, _ = image.cmap(image.norm(value))  # type: ignore[attr-defined]
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"


def _unproven(table: pd.DataFrame, x: str, y: str, gap_target: float | None) -> pd.DataFrame:
    """Per (y, x) cell: the largest gap of its scenarios that are not proven optimal, else NaN.

    A scenario counts when it stopped unproven (status "time_limit", "interrupted", "limit":
    anything but "optimal" and the proven "infeasible"/"unbounded") or, when it has a plan,
    its gap exceeds `gap_target`; a missing or infinite gap is reported as inf.
    """
    status = table["status"].astype(str)
    gap = pd.to_numeric(table.get("gap", pd.Series(np.nan, index=table.index)),
                        errors="coerce").astype(float)
    bad = ~status.isin(["optimal", "infeasible", "unbounded"])  # those are proven
    if gap_target is not None:
        above = gap.fillna(0.0) > gap_target + 1e-12
        if "has_plan" in table:
            above &= table["has_plan"].astype(bool)
        bad |= above
    flagged = table[[x, y]].assign(_gap=gap.fillna(np.inf).where(bad))
    return flagged.pivot_table(index=y, columns=x, values="_gap", aggfunc="max", dropna=False)


def _hatch(j: int, i: int) -> object:
    from matplotlib.patches import Rectangle

    return Rectangle((j - 0.5, i - 0.5), 1.0, 1.0, fill=False, hatch="///",
                     edgecolor="white", linewidth=0.0, gid="unproven")


def plot_sites_opened(table: pd.DataFrame, by: list[str] | str,
                      title: str = "Sites opened (year) per scenario") -> Figure:
    """Which site each scenario opens and in which year; scenarios sorted by `by`.

    Rows are sites (those open in some scenario), columns scenarios labelled by their `by`
    values; a cell shows the opening year ('28 for 2028; existing sites show the first
    year), blank if never.
    """
    by = [by] if isinstance(by, str) else list(by)
    plans = table[table["has_plan"]].sort_values(by).reset_index(drop=True)
    cols = [c for c in plans.columns if c.startswith("open_year.")]
    opened = [c for c in cols if plans[c].notna().any()]
    years = plans[opened].astype(float).to_numpy().T if opened else np.zeros((0, len(plans)))
    fig, ax = _figure(0.45 * len(plans) + 3, 0.45 * len(opened) + 2.5)
    im = ax.imshow(np.ma.masked_invalid(years), cmap="plasma_r", aspect="auto")
    for (i, j), v in np.ndenumerate(years):
        if not np.isnan(v):
            ax.text(j, i, f"'{int(v) % 100:02d}", ha="center", va="center", fontsize=7)
    ax.set_yticks(range(len(opened)), [plain(c.removeprefix("open_year.")) for c in opened])
    labels = [", ".join(_short(plans.at[i, k]) for k in by) for i in range(len(plans))]
    ax.set_xticks(range(len(plans)), labels, rotation=90, fontsize=7)
    ax.set_xlabel(plain(" / ".join(by)))
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label="open year")
    return fig


def _short(v: object) -> str:
    """A scenario's override value for a column label: 3 significant digits, text as typed."""
    return f"{v:.3g}" if isinstance(v, float) else plain(v)


def _tick(v: object) -> str:
    """An override value for a heatmap tick: a float without trailing zeros, text as typed."""
    return f"{v:g}" if isinstance(v, float) else plain(v)
