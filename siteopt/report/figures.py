"""The plotly figures of the HTML report, each with the table of its numbers.

Every function takes the `ResultFolder` and returns a list of `Chart`s (a figure, the
DataFrame it draws, and notes). The map uses ordinary x/y axes in degrees (lon, lat) over the
bundled country outline: no geo basemap, no tiles, nothing fetched. Traces carry a `meta`
label (e.g. "site-opened", "link", "phase") so that tests can find them in the page.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from siteopt.report.folder import ResultFolder
from siteopt.report.geo import load_outline
from siteopt.report.plots import COOLING_COLOURS

PALETTE = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3",
           "#8c8c8c", "#ccb974", "#64b5cd"]
#: No plotly template: "plotly_white" would embed ~10 KB of styles in every figure.
LAYOUT = dict(template="none", margin=dict(l=60, r=20, t=50, b=50), plot_bgcolor="white",
              paper_bgcolor="white",
              font=dict(family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"))


@dataclass
class Chart:
    """One figure and the numbers it draws."""

    key: str
    title: str
    figure: go.Figure | None
    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def _colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def plain(value: object) -> str:
    """User-given text (a site, zone, sponsor, scenario, ... name) for a plotly label.

    plotly.js reads a small HTML subset (<b>, <i>, <br>, <a>, <span style>, ...) in every
    text it draws: hover text, tick labels, legend entries, titles, subplot titles. A zone
    named "<b>x</b>" would show as a bold x; escaped here (&lt; &gt; &amp;, which plotly.js
    decodes) it shows as typed. Quotes are left alone: plotly.js does not decode &quot;.
    """
    return html.escape(str(value), quote=False)


def _phases_text(sched: pd.DataFrame, site: str) -> str:
    rows = sched[sched["site"] == site]
    return "<br>".join(
        f"{plain(r.phase)}: {r.it_mw:g} MW {plain(r.cooling)}, online {r.online_year}"
        + ("" if pd.isna(getattr(r, "decision_year", None)) else f" (start {r.decision_year})")
        + (" committed" if bool(r.committed) else "")
        for r in rows.itertuples(index=False)) or "no phase built"


# ---- map ----------------------------------------------------------------------------------

def map_chart(rf: ResultFolder) -> Chart:
    """The map: sites, demand regions, fiber nodes and links over the country outline.

    Opened sites are sized by final IT MW and coloured by sponsor, candidates not opened are
    hollow; the service overlay (last year's MW per site and region) is switched on by a button.
    The opened sites' ids (trace `text`) are labelled by the page once the map is drawn, in
    screen pixels, so that no two labels overlap (`siteopt.report.html.LABELS_JS`).
    """
    inst = rf.instance
    if inst is None or "sites" not in rf.tables:
        return Chart("map", "Map", None, pd.DataFrame(),
                     ["the map needs the instance (site and node coordinates)"])
    t = rf.tables
    sched = t.get("schedule", pd.DataFrame(columns=["site"]))
    nodes = inst.table("nodes").set_index("node")
    sites = t["sites"].merge(site_positions(inst), on="site", how="left")
    if sites["lat"].isna().all():
        return Chart("map", "Map", None, t["sites"],
                     ["no map: neither sites.csv nor nodes.csv gives coordinates (lat, lon)"])
    fig = go.Figure()
    for iso, rings in load_outline().items():
        xs: list[float | None] = []
        ys: list[float | None] = []
        for ring in rings:
            xs += [p[0] for p in ring] + [None]
            ys += [p[1] for p in ring] + [None]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", fill="toself", name=iso,
                                 line=dict(color="#b0b0b0", width=0.8),
                                 fillcolor="rgba(230,230,225,0.6)", hoverinfo="skip",
                                 showlegend=False, meta="outline"))
    links = inst.table("links")
    lx: list[float | None] = []
    ly: list[float | None] = []
    drawn = []
    for a, b, km in links[["a", "b", "km"]].itertuples(index=False):
        if _located(nodes, a) and _located(nodes, b):
            lx += [nodes.at[a, "lon"], nodes.at[b, "lon"], None]
            ly += [nodes.at[a, "lat"], nodes.at[b, "lat"], None]
            drawn.append((a, b, km))
    fig.add_trace(go.Scatter(x=lx, y=ly, mode="lines", name=f"fiber links ({len(drawn)})",
                             line=dict(color="#7f9fbf", width=1.2), hoverinfo="skip",
                             meta="link"))
    located = nodes.loc[[n for n in nodes.index if _located(nodes, n)]]  # rows, even if none
    fig.add_trace(go.Scatter(x=located["lon"], y=located["lat"], mode="markers",
                             name="fiber nodes", marker=dict(size=4, color="#7f9fbf"),
                             text=[f"node {plain(n)}" for n in located.index], hoverinfo="text",
                             meta="node"))
    # demand regions
    regions = inst.table("regions")
    demand = inst.table("demand")
    last = max(inst.years)
    final = demand[demand["year"] == last].groupby("region")["it_mw"].sum()
    uns = t.get("unserved", pd.DataFrame(columns=["region", "unserved_mw"]))
    lost = uns.groupby("region")["unserved_mw"].sum() if len(uns) else pd.Series(dtype=float)
    rx, ry, rtext, rsize = [], [], [], []
    for r in regions.itertuples(index=False):
        if r.node and _located(nodes, r.node):
            rx.append(nodes.at[r.node, "lon"])
            ry.append(nodes.at[r.node, "lat"])
            mw = float(final.get(r.region, 0.0))
            rsize.append(6 + 2.5 * math.sqrt(mw))
            rtext.append(f"region {plain(r.region)}<br>demand {last}: {mw:,.1f} MW"
                         f"<br>unserved: {float(lost.get(r.region, 0.0)):,.1f} MW-years")
    fig.add_trace(go.Scatter(x=rx, y=ry, mode="markers", name="demand regions",
                             marker=dict(symbol="diamond", size=rsize, color="rgba(0,0,0,0.15)",
                                         line=dict(color="#333", width=1)),
                             text=rtext, hoverinfo="text", meta="region"))
    # sites
    opened = sites[sites["open_year"].notna()]
    sponsors = list(dict.fromkeys(opened["sponsor"].astype(str)))
    for i, sponsor in enumerate(sponsors):
        g = opened[opened["sponsor"].astype(str) == sponsor]
        text = [f"<b>{plain(r.site)}</b> {plain(r.name)}<br>zone {plain(r.zone)}, sponsor "
                f"{plain(r.sponsor or '-')}<br>"
                f"open {int(r.open_year)}, {r.it_mw_final:g} IT MW at the end<br>"
                + _phases_text(sched, r.site) for r in g.itertuples(index=False)]
        fig.add_trace(go.Scatter(
            # the ids in `text` are drawn by the page as labels laid out not to overlap
            # (siteopt.report.html.LABELS_JS): plotly's own text would stack the labels of
            # sites a few km apart (the Ho Chi Minh City sites) on top of each other
            x=g["lon"], y=g["lat"], mode="markers",
            name=f"opened: {plain(sponsor) or 'no sponsor'}",
            text=[plain(s) for s in g["site"]], hovertext=text,
            hoverinfo="text",
            customdata=list(g["site"]),
            marker=dict(size=[10 + 1.6 * math.sqrt(max(x, 0)) for x in g["it_mw_final"]],
                        color=_colour(i), line=dict(color="white", width=1), opacity=0.9),
            meta="site-opened"))
    closed = sites[sites["open_year"].isna()]
    if len(closed):
        fig.add_trace(go.Scatter(
            x=closed["lon"], y=closed["lat"], mode="markers", name="candidate, not opened",
            hovertext=[f"<b>{plain(r.site)}</b> {plain(r.name)}<br>zone {plain(r.zone)}, "
                       f"sponsor {plain(r.sponsor or '-')}<br>not opened"
                       for r in closed.itertuples(index=False)],
            hoverinfo="text", customdata=list(closed["site"]),
            # an "-open" symbol is drawn in marker.color (its line colour is ignored): white
            # made the candidates invisible on the map and in the legend
            marker=dict(size=10, color="#555", line=dict(width=1.5), symbol="circle-open"),
            meta="site-candidate"))
    # service overlay: last-year MW per (site, region), hidden until switched on
    served = t.get("served", pd.DataFrame(columns=["site", "region", "year", "serve_mw"]))
    flows = served[served["year"] == served["year"].max()].groupby(
        ["site", "region"])["serve_mw"].sum() if len(served) else pd.Series(dtype=float)
    site_pos = sites.set_index("site")[["lon", "lat"]]
    region_node = dict(zip(regions["region"], regions["node"], strict=True))
    overlay: list[int] = []
    for (s, r), mw in flows.items():
        node = region_node.get(r, "")
        if not node or not _located(nodes, node) or pd.isna(site_pos.at[s, "lat"]):
            continue
        x0, y0 = site_pos.at[s, "lon"], site_pos.at[s, "lat"]
        x1, y1 = nodes.at[node, "lon"], nodes.at[node, "lat"]
        overlay.append(len(fig.data))
        fig.add_trace(go.Scatter(
            x=[x0, (x0 + x1) / 2, x1], y=[y0, (y0 + y1) / 2, y1], mode="lines",
            line=dict(color="rgba(196,78,82,0.6)", width=1 + 1.2 * math.sqrt(mw)),
            name="service (last year)", legendgroup="service", showlegend=not overlay[:-1],
            visible=False, hovertext=f"{plain(s)} serves {plain(r)}: {mw:,.1f} MW in {last}",
            hoverinfo="text", meta="service"))
    fig.update_layout(updatemenus=[dict(
        type="buttons", direction="right", x=0, y=1.08, xanchor="left", showactive=True,
        buttons=[dict(label="service overlay off", method="restyle",
                      args=[{"visible": [False] * len(overlay)}, overlay]),
                 dict(label="service overlay on", method="restyle",
                      args=[{"visible": [True] * len(overlay)}, overlay])])] if overlay else [])
    lats = [y for y in list(sites["lat"]) + ry if y is not None and not pd.isna(y)]
    lons = [x for x in list(sites["lon"]) + rx if x is not None and not pd.isna(x)]
    mid = (min(lats) + max(lats)) / 2 if lats else 15.0
    if lats:
        # a frame of about 16:10 on screen around the data, so the outline fills the width
        y0, y1 = min(lats) - 1.0, max(lats) + 1.0
        half = max((max(lons) - min(lons)) / 2 + 1.0,
                   0.8 * (y1 - y0) * math.cos(math.radians(mid)))
        centre = (min(lons) + max(lons)) / 2
        fig.update_xaxes(range=[centre - half, centre + half])
        fig.update_yaxes(range=[y0, y1])
    fig.update_xaxes(title="longitude (°E)", showgrid=False, zeroline=False)
    fig.update_yaxes(title="latitude (°N)", showgrid=False, zeroline=False, scaleanchor="x",
                     scaleratio=1 / math.cos(math.radians(mid)))
    fig.update_layout(**LAYOUT, height=760,
                      title=f"Sites, demand regions and fiber: {len(opened)} of {len(sites)} "
                            "candidate sites opened",
                      legend=dict(font=dict(size=10)), hovermode="closest")
    table = sites[["site", "name", "zone", "sponsor", "open_year", "it_mw_final", "lat", "lon"]]
    notes = []
    unlocated = [r for r in regions["region"] if not region_node.get(r)]
    if unlocated:
        notes.append("regions without a location (not on the map): " + ", ".join(unlocated))
    return Chart("map", "Map", fig, table, notes)


def _located(nodes: pd.DataFrame, n: str) -> bool:
    return n in nodes.index and not (pd.isna(nodes.at[n, "lat"]) or pd.isna(nodes.at[n, "lon"]))


def site_positions(inst: object) -> pd.DataFrame:
    """Each site's lat/lon: its own in sites.csv, else its node's (NaN if neither)."""
    sites = inst.table("sites")  # type: ignore[attr-defined]
    nodes = inst.table("nodes").set_index("node")  # type: ignore[attr-defined]
    rows = []
    for r in sites.itertuples(index=False):
        lat, lon = r.lat, r.lon
        if (pd.isna(lat) or pd.isna(lon)) and _located(nodes, r.node):
            lat, lon = nodes.at[r.node, "lat"], nodes.at[r.node, "lon"]
        rows.append({"site": r.site, "lat": lat, "lon": lon})
    return pd.DataFrame(rows, columns=["site", "lat", "lon"])


# ---- timeline -----------------------------------------------------------------------------

def timeline_chart(rf: ResultFolder) -> Chart:
    """Gantt chart: one bar per built phase, from its online year to the horizon's end.

    Coloured by cooling, hatched when committed; its construction years before it in grey.
    The years are labelled above the first row as well as below the last.
    """
    t = rf.tables
    sched = t["schedule"].copy()
    cols = [c for c in ("site", "phase", "cooling", "decision_year", "online_year", "it_mw",
                        "capex_with_cooling_usd_m", "committed") if c in sched]
    if sched.empty:  # empty axes and "no rows" would read as a chart that failed to draw
        return Chart("timeline", "Timeline", None, sched[cols],
                     ["no phase built: the plan adds no capacity"])
    years = sorted(int(y) for y in t["costs"]["year"]) if "costs" in t else sorted(
        sched["online_year"])
    last = years[-1] if years else 0
    sched = sched.sort_values(["site", "online_year", "phase"]).reset_index(drop=True)
    labels = [f"{plain(s)} {plain(p)}" for s, p in zip(sched["site"], sched["phase"],
                                                       strict=True)]
    fig = go.Figure()
    if "decision_year" in sched:
        build = sched[sched["decision_year"] < sched["online_year"]]
        fig.add_trace(go.Bar(
            y=[labels[i] for i in build.index], x=build["online_year"] - build["decision_year"],
            base=build["decision_year"] - 0.5, orientation="h", name="construction",
            marker=dict(color="rgba(150,150,150,0.35)", line=dict(color="#888", width=1)),
            hovertext=[f"{plain(r.site)} {plain(r.phase)}: construction {r.decision_year}-"
                       f"{r.online_year - 1}" for r in build.itertuples(index=False)],
            hoverinfo="text", meta="construction"))
    for k, g in sched.groupby("cooling", sort=False):
        fig.add_trace(go.Bar(
            y=[labels[i] for i in g.index], x=last + 1 - g["online_year"],
            base=g["online_year"] - 0.5, orientation="h", name=f"online: {plain(k)}",
            marker=dict(color=COOLING_COLOURS.get(str(k), "#8172b3"),
                        pattern=dict(shape=["/" if bool(c) else "" for c in g["committed"]])),
            text=[f"{mw:g} MW{' committed' if bool(c) else ''}" for mw, c in
                  zip(g["it_mw"], g["committed"], strict=True)],
            textposition="inside", insidetextanchor="start",
            hovertext=[f"{plain(r.site)} {plain(r.phase)}: {r.it_mw:g} MW "
                       f"{plain(r.cooling)}, online "
                       f"{r.online_year}{', committed' if bool(r.committed) else ''}"
                       for r in g.itertuples(index=False)],
            hoverinfo="text", meta="phase"))
    fig.update_layout(**LAYOUT, barmode="overlay", height=140 + 26 * max(len(sched), 3),
                      title="Phase schedule (bars from the online year; grey: construction; "
                      "hatched: committed)")
    width = max((len(x) for x in labels), default=8)
    fig.update_layout(margin=dict(l=20 + 7 * width, r=20, t=50, b=50))
    fig.update_yaxes(categoryorder="array", categoryarray=labels[::-1], title=None)
    if years:
        fig.update_xaxes(range=[min(years[0], int(sched["decision_year"].min())
                                    if "decision_year" in sched and len(sched) else years[0])
                                - 0.6, last + 0.6], dtick=1, title="year")
    # the years at the top as well: a tall chart's top rows are a screen away from the
    # bottom axis. An overlaying axis that follows the bottom one (zoom, pan); plotly.js
    # draws an axis only with a trace on it, hence one invisible point.
    fig.add_trace(go.Scatter(x=[last], y=labels[:1], xaxis="x2", mode="markers",
                             marker=dict(opacity=0), hoverinfo="skip", showlegend=False,
                             meta="top-years"))
    fig.update_layout(xaxis2=dict(matches="x", overlaying="x", side="top", anchor="y",
                                  dtick=1, showgrid=False, zeroline=False, automargin=True),
                      margin=dict(t=90))
    return Chart("timeline", "Timeline", fig, sched[cols])


# ---- grid ---------------------------------------------------------------------------------

def grid_chart(rf: ResultFolder) -> Chart:
    """Facility power per zone and year against the derated headroom and the limit.

    The limit includes upgrades; binding years in red. One panel per zone.
    """
    power = rf.tables["power"]
    zones = list(dict.fromkeys(power["zone"]))
    cols = 2 if len(zones) > 1 else 1
    rows = math.ceil(len(zones) / cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[plain(z) for z in zones],
                        vertical_spacing=min(0.12, 0.5 / max(rows, 1)), horizontal_spacing=0.08)
    for i, zone in enumerate(zones):
        row, col = i // cols + 1, i % cols + 1
        g = power[power["zone"] == zone].sort_values("year")
        tight = g["binding"].astype(bool) if "binding" in g else (
            g["power_mw"] >= g["limit_mw"] - 1e-6) & (g["power_mw"] > 0)
        fig.add_trace(go.Bar(x=g["year"], y=g["power_mw"], name="facility power",
                             legendgroup="power", showlegend=i == 0,
                             marker_color=["#c44e52" if b else "#4c72b0" for b in tight],
                             hovertext=[f"{plain(zone)} {y}: {p:,.1f} of {lim:,.1f} MW"
                                        + (" (binding)" if b else "") for y, p, lim, b in
                                        zip(g["year"], g["power_mw"], g["limit_mw"], tight,
                                            strict=True)],
                             hoverinfo="text", meta="power"), row=row, col=col)
        for column, name, dash, colour in (("limit_mw", "limit (headroom + upgrades)", "solid",
                                            "black"),
                                           ("derated_headroom_mw", "headroom (derated)", "dot",
                                            "grey")):
            xs: list[float | None] = []
            ys: list[float | None] = []
            for y, v in zip(g["year"], g[column], strict=True):
                xs += [y - 0.5, y + 0.5, None]
                ys += [v, v, None]
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=name, legendgroup=column,
                                     showlegend=i == 0, line=dict(color=colour, dash=dash),
                                     hoverinfo="skip", meta=column), row=row, col=col)
        fig.update_xaxes(dtick=1 if len(g) <= 12 else None, tickangle=-45, row=row, col=col,
                         title="year" if i + cols >= len(zones) else None)  # no panel below
        if col == 1:
            fig.update_yaxes(title="facility MW", row=row, col=col)
    fig.update_layout(**LAYOUT, height=260 * rows + 110,
                      title="Facility power against the grid limit per zone (facility MW; "
                      "red: within 1 % of it)")
    # room between the title and the first row's zone names (which touched it)
    fig.update_layout(margin=dict(t=80))
    return Chart("grid", "Grid", fig, power)


# ---- money --------------------------------------------------------------------------------

COST_TERMS = ("capex", "open_cost", "fixed_om", "energy", "upgrade_cost", "service_cost",
              "unserved_penalty")


def money_charts(rf: ResultFolder) -> list[Chart]:
    """Cost terms by year (undiscounted bars, present value line) and budgets vs limits."""
    out = []
    costs = rf.tables["costs"]
    fig = go.Figure()
    for i, term in enumerate(t for t in COST_TERMS if t in costs):
        fig.add_trace(go.Bar(x=costs["year"], y=costs[term], name=term,
                             marker_color=_colour(i), meta="cost"))
    fig.add_trace(go.Scatter(x=costs["year"], y=costs["total_pv"], mode="lines+markers",
                             name="total, present value", line=dict(color="black"),
                             meta="cost-pv"))
    fig.update_layout(**LAYOUT, barmode="stack", height=420,
                      title="Costs by year (USD M; bars undiscounted, line present value)")
    fig.update_xaxes(dtick=1, title="year")
    fig.update_yaxes(title="USD M")
    table = costs.copy()
    totals = {"year": "total", **{c: costs[c].sum() for c in costs.columns
                                  if c not in ("year", "discount")}}
    out.append(Chart("costs", "Costs", fig, pd.concat([table, pd.DataFrame([totals])],
                                                      ignore_index=True)))
    budgets = rf.tables.get("budgets")
    if budgets is not None and len(budgets):
        b = budgets.copy()
        names = [plain(n) for n in b["budget"]]
        fig = go.Figure()
        fig.add_trace(go.Bar(y=names, x=b["spend_usd_m"], orientation="h", name="spend",
                             marker_color=["#c44e52" if x else "#4c72b0"
                                           for x in b["binding"].astype(bool)], meta="budget"))
        fig.add_trace(go.Scatter(y=names, x=b["limit_usd_m"], mode="markers", name="limit",
                                 marker=dict(symbol="line-ns-open", size=18, color="black",
                                             line=dict(width=3)),
                                 meta="budget-limit"))
        fig.update_layout(**LAYOUT, height=120 + 24 * len(b),
                          title="Budgets: spend against limit (USD M; red: binding)")
        fig.update_yaxes(categoryorder="array", categoryarray=names[::-1])
        fig.update_xaxes(title="USD M", rangemode="tozero")
        out.append(Chart("budgets", "Budgets", fig, b))
    else:
        out.append(Chart("budgets", "Budgets", None, pd.DataFrame(),
                         ["no budget rows" if budgets is not None else "budgets.csv missing"]))
    return out


# ---- service ------------------------------------------------------------------------------

def service_charts(rf: ResultFolder) -> list[Chart]:
    """Demand served vs unserved per region and class; latency of served pairs vs target."""
    from siteopt.report.console import unserved_summary

    served = rf.tables["served"]
    uns = rf.tables["unserved"]
    got = served.groupby(["region", "class"])["serve_mw"].sum().rename("served_mw_years")
    miss = uns.groupby(["region", "class"])["unserved_mw"].sum().rename("unserved_mw_years")
    # by region and class: a pair with no MW served came after all the others (the union of
    # the two indexes keeps the served pairs' order first), out of its region's place
    both = pd.concat([got, miss], axis=1).fillna(0.0).sort_index().reset_index()
    if len(uns):
        why = unserved_summary(uns).set_index(["region", "class"])["reason"]
        both["reason"] = [why.get((r, c), "") for r, c in zip(both["region"], both["class"],
                                                               strict=True)]
    else:
        both["reason"] = ""
    labels = [f"{plain(r)} / {plain(c)}" for r, c in zip(both["region"], both["class"],
                                                         strict=True)]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=labels, y=both["served_mw_years"], name="served",
                         marker_color="#55a868", meta="served"))
    fig.add_trace(go.Bar(x=labels, y=both["unserved_mw_years"], name="unserved",
                         marker_color="#c44e52", hovertext=[
                             f"{lab}: {mw:,.1f} MW-years unserved<br>{plain(why)}"
                             for lab, mw, why in
                             zip(labels, both["unserved_mw_years"], both["reason"],
                                 strict=True)], hoverinfo="text", meta="unserved"))
    fig.update_layout(**LAYOUT, barmode="stack", height=440,
                      title="Demand served and unserved over the horizon (MW-years)")
    fig.update_xaxes(tickangle=-45, title="region / class")
    fig.update_yaxes(title="MW-years")
    charts = [Chart("service", "Service", fig, both)]
    pairs = served.dropna(subset=["rtt_ms"]).groupby(["site", "region", "class"]).agg(
        rtt_ms=("rtt_ms", "first"), max_rtt_ms=("max_rtt_ms", "first"),
        serve_mw_years=("serve_mw", "sum")).reset_index()
    if pairs.empty:  # no demand served, or none with a latency target
        charts.append(Chart("latency", "Latency", None, pairs,
                            ["no served demand with a latency target: no latency to draw"]))
        return charts
    fig = go.Figure()
    target = pairs["max_rtt_ms"]
    fig.add_trace(go.Scatter(
        x=target, y=pairs["rtt_ms"], mode="markers", name="served pair",
        marker=dict(size=[6 + math.sqrt(max(v, 0)) for v in pairs["serve_mw_years"]],
                    color="#4c72b0", opacity=0.7),
        hovertext=[f"{plain(r.site)} → {plain(r.region)}/{plain(r._2)}: "
                   f"{r.rtt_ms:.2f} ms (target "
                   f"{r.max_rtt_ms:g} ms), {r.serve_mw_years:,.1f} MW-years"
                   for r in pairs.itertuples(index=False)], hoverinfo="text",
        meta="latency"))
    top = float(pd.concat([pairs["rtt_ms"], target]).max() or 1.0) * 1.05
    fig.add_trace(go.Scatter(x=[0, top], y=[0, top], mode="lines", name="at the target",
                             line=dict(color="grey", dash="dash"), hoverinfo="skip"))
    fig.update_layout(**LAYOUT, height=420,
                      title="Latency of served pairs against their target (ms; below the "
                      "dashed line = within target; no target: not drawn)")
    fig.update_xaxes(title="target round trip (ms)")
    fig.update_yaxes(title="round trip (ms)")
    charts.append(Chart("latency", "Latency", fig, pairs))
    return charts


# ---- sweeps -------------------------------------------------------------------------------

#: Bar colours of a sweep's objectives: proven optimal, and anything else (a time limit, ...).
SWEEP_PROVEN, SWEEP_UNPROVEN = "#4c72b0", "#dd8452"

def sweep_chart(table: pd.DataFrame) -> Chart:
    """Scenarios side by side: objective, sites opened, first online years, unserved."""
    first_cols = [c for c in table.columns if c.startswith("first_year.")]
    keep = [c for c in table.columns if not c.startswith(
        ("open_year.", "first_year.", "cooling.", "mw.", "mw_cooling."))]
    view = table[keep].copy()
    if first_cols:
        view["first_online"] = [
            ", ".join(f"{c.removeprefix('first_year.')} {int(row[c])}" for c in first_cols
                      if not pd.isna(row[c]) and row[c] == min(
                          int(row[d]) for d in first_cols if not pd.isna(row[d])))
            for _, row in table.iterrows()]
    # a bar of a plan not proven optimal (time limit: its gap) must not look like a proven one
    status = (table["status"].astype(str) if "status" in table
              else pd.Series("optimal", index=table.index))
    gap = table["gap"] if "gap" in table else pd.Series(0.0, index=table.index)
    fig = go.Figure()
    fig.add_trace(go.Bar(
        x=[plain(s) for s in table["scenario"]], y=table["objective"], name="objective",
        marker_color=[SWEEP_PROVEN if st == "optimal" else SWEEP_UNPROVEN for st in status],
        customdata=[f"{st}" + ("" if st == "optimal" or pd.isna(g) else f", gap {g:.2%}")
                    for st, g in zip(status, gap, strict=True)],
        hovertemplate="%{x}: %{y:,.2f} (%{customdata})<extra></extra>",
        meta="sweep-objective"))
    if "unserved_mw_years" in table:
        fig.add_trace(go.Scatter(x=[plain(s) for s in table["scenario"]],
                                 y=table["unserved_mw_years"], mode="markers",
                                 name="unserved MW-years", yaxis="y2",
                                 marker=dict(color="#c44e52", size=9), meta="sweep-unserved"))
    unproven = "" if (status == "optimal").all() else " (orange bars: not proven optimal)"
    fig.update_layout(**LAYOUT, height=420,
                      title=f"Scenarios: objective and unserved demand{unproven}",
                      yaxis=dict(title="objective"),
                      # never below 0 (all zero gave an axis from -1 to 1 with a stray zero line)
                      yaxis2=dict(title="unserved MW-years", overlaying="y", side="right",
                                  rangemode="nonnegative", zeroline=False))
    fig.update_xaxes(title="scenario", tickangle=-45)
    return Chart("sweep", "Scenarios", fig, view)
