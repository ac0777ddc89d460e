"""One self-contained HTML report of a result folder or a sweep (`siteopt report`).

Everything is inline: plotly.js (one copy, and only when a chart is drawn: a folder without
a plan gets a page of notes of a few KB), the styles, the figures' data and the bundled
country outline; opening the file makes no request to any server (no tiles, no topojson,
no CDN, no web fonts). Sections: header (status, objective, gap, verified, instance,
fingerprint, versions, when the solve finished (summary.json's `finished_at`, UTC) and when the
report was made), summary (unserved demand as a table, resilience), map, timeline, grid,
money, service; every chart is followed by
the table of its numbers. A sweep folder (`results.parquet` and `scenarios/<id>/`) gets the
scenarios side by side and the same sections for one scenario (default: the first); value and
alternatives folders get their own charts first (`siteopt.report.decisions`), and so do
two-stage stochastic folders (`siteopt.report.stochastic`).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from pathlib import Path

import pandas as pd

from siteopt.data.instance import Instance
from siteopt.errors import InputError, Problem
from siteopt.report import decisions, figures, stochastic
from siteopt.report.folder import ResultFolder, read_result_folder
from siteopt.report.tables import numbers_html, table_html

#: The report's file name inside a result folder.
REPORT_FILE = "report.html"

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;
background:#fafafa}
header{background:#1f2d3d;color:#fff;padding:14px 24px}
header h1{margin:0 0 6px 0;font-size:22px}
header .facts span{margin-right:18px;white-space:nowrap}
.bad{color:#fff;background:#c0392b;padding:2px 8px;border-radius:3px;font-weight:bold}
.good{color:#fff;background:#2e8b57;padding:2px 8px;border-radius:3px;font-weight:bold}
nav{padding:6px 24px;background:#e8ecf0}
nav a{margin-right:14px;color:#1f2d3d}
main{padding:0 24px 40px 24px}
section{background:#fff;border:1px solid #ddd;border-radius:4px;margin:16px 0;padding:8px 16px}
.note{color:#8a4b00;background:#fff4e0;padding:6px 10px;border-radius:3px;margin:6px 0}
table.numbers{border-collapse:collapse;font-size:12px;margin:6px 0}
table.numbers th,table.numbers td{border:1px solid #ccc;padding:2px 6px;text-align:right}
table.numbers th{background:#f0f0f0}
table.unserved :is(td,th):nth-child(-n+2),table.unserved :is(td,th):nth-child(n+5){text-align:left}
details{margin:4px 0 10px 0}
small{color:#666}
"""


#: Draws each figure when it comes near the viewport (the page opens fast however many
#: charts it holds); `siteoptRenderAll()` draws them all (printing, tests) and resolves when
#: done.
LAZY_JS = """
(function(){
  var config = {displaylogo: false, responsive: true};
  var done = {};
  function draw(div){
    if (done[div.id]) return done[div.id];
    var fig = JSON.parse(document.getElementById(div.id + '-data').textContent);
    done[div.id] = Plotly.newPlot(div, fig.data, fig.layout, config).then(function(){
      div.style.minHeight = '';
      return window.siteoptLabels(div);
    });
    return done[div.id];
  }
  var divs = Array.prototype.slice.call(document.querySelectorAll('.lazy-plot'));
  window.siteoptRenderAll = function(){ return Promise.all(divs.map(draw)); };
  if ('IntersectionObserver' in window) {
    var io = new IntersectionObserver(function(entries){
      entries.forEach(function(e){
        if (e.isIntersecting) { io.unobserve(e.target); draw(e.target); }
      });
    }, {rootMargin: '300px'});
    divs.forEach(function(d){ io.observe(d); });
  } else { window.siteoptRenderAll(); }
  window.addEventListener('beforeprint', function(){ window.siteoptRenderAll(); });
})();
"""


#: Labels the map's opened sites (traces with meta "site-opened": their `text`) so that no
#: two labels overlap, nor a label another site's marker, nor leave the plot area. Laid out in
#: screen pixels once the chart is drawn, and again after a zoom, pan or resize (plotly's own
#: `textposition` puts every label at the same offset from its marker, so the labels of sites
#: a few km apart, as in Ho Chi Minh City, were drawn on top of each other). Greedy: from north
#: to south each label takes the first free place around its marker, then ever further away,
#: joined to the marker by a thin leader line (a plotly annotation with an arrow). The
#: annotations carry `name` "site-label" (tests find them by it).
LABELS_JS = """
(function(){
  var FONT = 11, PAD = 2, GAP = 3;
  var canvas = document.createElement('canvas').getContext('2d');
  function hits(a, b){
    return a.x0 < b.x1 + PAD && b.x0 < a.x1 + PAD && a.y0 < b.y1 + PAD && b.y0 < a.y1 + PAD;
  }
  function place(div){
    var lay = div._fullLayout, xa = lay.xaxis, ya = lay.yaxis;
    if (!xa || !ya) return Promise.resolve();
    canvas.font = FONT + 'px ' + lay.font.family;
    var area = {x0: xa._offset, x1: xa._offset + xa._length,
                y0: ya._offset, y1: ya._offset + ya._length};
    var marks = [], labels = [];
    div._fullData.forEach(function(t){
      if (t.meta !== 'site-opened' && t.meta !== 'site-candidate') return;
      if (t.visible !== true) return;
      for (var i = 0; i < t.x.length; i++) {
        var size = Array.isArray(t.marker.size) ? t.marker.size[i] : t.marker.size;
        var px = xa._offset + xa.l2p(t.x[i]), py = ya._offset + ya.l2p(t.y[i]);
        if (!(px >= area.x0 && px <= area.x1 && py >= area.y0 && py <= area.y1)) continue;
        var m = {px: px, py: py, r: size / 2};
        marks.push(m);
        if (t.meta === 'site-opened') {
          var tmp = document.createElement('span');
          tmp.innerHTML = t.text[i];  // the id as plotly shows it (&lt; decoded)
          labels.push({m: m, x: t.x[i], y: t.y[i], text: t.text[i],
                       w: canvas.measureText(tmp.textContent).width + 2 * PAD,
                       h: FONT + 2 * PAD + 2});
        }
      }
    });
    labels.sort(function(a, b){ return a.m.py - b.m.py || a.m.px - b.m.px; });
    var boxes = [], out = [];
    var dirs = [[0, -1], [1, 0], [0, 1], [-1, 0], [1, -1], [1, 1], [-1, 1], [-1, -1]];
    labels.forEach(function(l){
      var best = null;
      for (var d = 0; d <= 240 && !best; d += 8) {
        for (var k = 0; k < dirs.length && !best; k++) {
          var ux = dirs[k][0], uy = dirs[k][1];
          var cx = l.m.px + ux * (l.m.r + GAP + d + l.w / 2);
          var cy = l.m.py + uy * (l.m.r + GAP + d + l.h / 2);
          var b = {x0: cx - l.w / 2, x1: cx + l.w / 2, y0: cy - l.h / 2, y1: cy + l.h / 2};
          if (b.x0 < area.x0 || b.x1 > area.x1 || b.y0 < area.y0 || b.y1 > area.y1) continue;
          if (boxes.some(function(o){ return hits(b, o); })) continue;
          if (marks.some(function(m){
            return hits(b, {x0: m.px - m.r, x1: m.px + m.r, y0: m.py - m.r, y1: m.py + m.r});
          })) continue;
          best = {b: b, cx: cx, cy: cy};
        }
      }
      if (!best) return;  // no free place within 240 px: unlabelled rather than overlapping
      boxes.push(best.b);
      out.push({name: 'site-label', x: l.x, y: l.y, xref: 'x', yref: 'y', text: l.text,
                ax: best.cx - l.m.px, ay: best.cy - l.m.py, showarrow: true, arrowhead: 0,
                arrowwidth: 0.8, arrowcolor: '#666', standoff: l.m.r, borderpad: 0,
                font: {size: FONT, color: '#222'}, bgcolor: 'rgba(255,255,255,0.75)',
                captureevents: false});
    });
    var keep = (div.layout.annotations || []).filter(function(a){
      return a.name !== 'site-label';
    });
    return Plotly.relayout(div, {annotations: keep.concat(out)});
  }
  window.siteoptLabels = function(div){
    if (!div.data.some(function(t){ return t.meta === 'site-opened'; })) {
      return Promise.resolve();
    }
    if (!div._siteoptLabels) {
      div._siteoptLabels = true;
      // a zoom, pan or resize moves the markers; the labels' own relayout is not followed
      div.on('plotly_relayout', function(e){
        if (!Object.keys(e).some(function(k){ return k.indexOf('annotations') === 0; })) {
          place(div);
        }
      });
      div.on('plotly_restyle', function(){ place(div); });
    }
    return place(div);
  };
})();
"""

#: plotly.js's cartesian bundle (bar, scatter, heatmap, ... : every trace the report draws),
#: a third of the full bundle's size; provenance in `assets/README.md`.
CARTESIAN_JS = Path(__file__).with_name("assets") / "plotly" / "plotly-cartesian.min.js"


def _version(text: str) -> str:
    """The plotly.js version a bundle announces in its licence header ("v4.1.1")."""
    found = re.search(r"plotly\.js[^\n]*? v(\d+\.\d+\.\d+)", text[:400])
    return found.group(1) if found else ""


def plotlyjs() -> tuple[str, str]:
    """The plotly.js source to inline and which bundle it is ("cartesian" or "full").

    The vendored cartesian bundle when its major.minor version equals the one plotly.py
    writes figures for (a newer plotly.py may emit attributes an older plotly.js ignores);
    otherwise plotly.py's own full bundle.
    """
    from plotly.offline import get_plotlyjs, get_plotlyjs_version

    if CARTESIAN_JS.is_file():
        text = CARTESIAN_JS.read_text(encoding="utf-8")
        if _version(text).split(".")[:2] == get_plotlyjs_version().split(".")[:2]:
            return text, "cartesian"
    return get_plotlyjs(), "full"


def _plotlyjs() -> str:
    return plotlyjs()[0]


def _chart_html(chart: figures.Chart, index: int, heading: bool = True) -> str:
    """One chart: its heading (unless `heading` is false), notes, figure and number table."""
    parts = [f'<h3 id="{chart.key}">{html.escape(chart.title)}</h3>'] if heading else []
    parts += [f'<p class="note">{html.escape(n)}</p>' for n in chart.notes]
    if chart.figure is not None:
        fid = f"fig-{chart.key}-{index}"
        # without a template, axes do not grow their margins for long labels by themselves
        chart.figure.update_xaxes(automargin=True)
        chart.figure.update_yaxes(automargin=True)
        data = chart.figure.to_json().replace("</", "<\\/")
        height = chart.figure.layout.height or 450
        parts.append(f'<div id="{fid}" class="lazy-plot" data-title="{html.escape(chart.title)}" '
                     f'style="min-height:{height}px"></div>'
                     f'<script type="application/json" id="{fid}-data">{data}</script>')
    parts.append(table_html(chart.table, chart.title))
    return "\n".join(parts)


def _fmt(x: object, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and pd.isna(x)):
        return "-"
    return f"{x:,.{digits}f}" if isinstance(x, int | float) else str(x)


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def solved_html(summary: dict[str, object]) -> str:
    """When the solve finished, from summary.json's `finished_at` (UTC).

    Never the file's modification time, which copying the folder changes: a folder written
    before siteopt recorded `finished_at` says that it was not recorded.
    """
    recorded = summary.get("finished_at")
    if recorded is None:
        return "solved: not recorded in summary.json (written before siteopt recorded it)"
    try:
        moment = dt.datetime.fromisoformat(str(recorded).replace("Z", "+00:00"))
    except ValueError:
        return f"solved {html.escape(str(recorded))} (as summary.json says; not a date)"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return f"solved {_utc(moment)}"


def header_html(rf: ResultFolder, title: str) -> str:
    """Status, objective, gap, verified (red when not), instance, fingerprint, versions, dates."""
    s = rf.summary
    verified = bool(s.get("verified"))
    has_plan = rf.has_plan
    if not has_plan and s.get("status") in ("optimal", "time_limit"):
        badge = '<span class="bad">plan tables missing from this folder</span>'
    elif not has_plan:
        badge = f'<span class="bad">NO PLAN ({html.escape(str(s.get("status")))})</span>'
    elif verified:
        badge = '<span class="good">verified</span>'
    else:
        badge = '<span class="bad">FAILED independent verification</span>'
    gap = s.get("gap")
    versions = s.get("versions") or {}
    facts = [
        f"status <b>{html.escape(str(s.get('status')))}</b>",
        f"{html.escape(str(s.get('objective_name', 'objective')))} "
        + (f"<b>{_fmt(s.get('objective'))}</b> {html.escape(str(s.get('objective_unit', '')))}"
           if s.get("objective") is not None else "<b>none</b>"),
        f"bound {_fmt(s.get('bound'))}",
        f"gap {'-' if gap is None else f'{100 * float(gap):.4f} %'}",
        badge,
    ]
    facts2 = [
        f"instance <b>{html.escape(str(s.get('instance')))}</b>",
        f"fingerprint <code>{html.escape(str(s.get('instance_fingerprint')))}</code>",
        "versions " + html.escape(", ".join(f"{k} {v}" for k, v in versions.items())),
        solved_html(s),
        f"report {_utc(dt.datetime.now(dt.UTC))}",
    ]
    out = [f"<header><h1>{html.escape(title)}</h1>",
           '<div class="facts">' + " ".join(f"<span>{f}</span>" for f in facts) + "</div>",
           '<div class="facts"><small style="color:#cfd8e0">'
           + " ".join(f"<span>{f}</span>" for f in facts2) + "</small></div></header>"]
    return "\n".join(out)


def plan_sections(rf: ResultFolder) -> tuple[list[tuple[str, list[figures.Chart]]], list[str]]:
    """The report's sections for a plan, and notes on what could not be drawn."""
    notes = list(rf.notes)
    s = rf.summary
    # without a plan, summary.json's violations are the causes found (pre-solve checks,
    # infeasibility analysis), not breaches of a plan
    label = "violation" if rf.has_plan else "why there is no plan"
    for v in (s.get("violations") or [])[:30]:
        notes.append(f"{label}: {v}")
    if not rf.has_plan:
        return [], notes
    t = rf.tables
    sections: list[tuple[str, list[figures.Chart]]] = []

    def attempt(name: str, needs: tuple[str, ...], make: object) -> None:
        lacking = [f"{n}.csv" for n in needs if n not in t]
        if lacking:
            sections.append((name, [figures.Chart(name.lower(), name, None, pd.DataFrame(),
                                                  [f"not drawn: {', '.join(lacking)} missing"])]))
            return
        result = make(rf)  # type: ignore[operator]
        sections.append((name, result if isinstance(result, list) else [result]))

    attempt("Map", ("sites",), figures.map_chart)
    attempt("Timeline", ("schedule",), figures.timeline_chart)
    attempt("Grid", ("power",), figures.grid_chart)
    attempt("Money", ("costs",), figures.money_charts)
    attempt("Service", ("served", "unserved"), figures.service_charts)
    return sections, notes


def _unserved_html(rf: ResultFolder) -> str:
    """Unserved demand per region and class as a table (shown, not folded away).

    The columns of `unserved_summary`; `reason` is left-aligned text (a list of one bullet
    per region and class ran to dozens of lines that could not be compared or copied).
    """
    from siteopt.report.console import unserved_summary

    uns = rf.tables.get("unserved")
    if uns is None:
        return ""
    if uns.empty:
        return "<p>Unserved demand: none.</p>"
    rows = unserved_summary(uns)
    count = f"{len(rows)} row{'' if len(rows) == 1 else 's'}"
    return (f"<p>Unserved demand per region and class ({count}; mw_years: MW-years "
            "over the horizon, worst_mw: MW in its worst year):</p>"
            + numbers_html(rows, "numbers unserved"))


def resilience_frame(summary: dict[str, object]) -> pd.DataFrame:
    """The `resilience` entry of summary.json as a table: one row per class and rule."""
    rows = []
    for cls, rules in (summary.get("resilience") or {}).items():
        for rule, e in (rules or {}).items():
            rows.append({"class": cls, "rule": rule, "binds": e.get("binds"),
                         "cost_usd_m": e.get("cost_usd_m"),
                         "adds_sites": " ".join(e.get("adds_sites") or []),
                         "adds_phases": " ".join(e.get("adds_phases") or []),
                         "tight": " ".join(str(t) for t in (e.get("tight") or [])[:5]),
                         "basis": e.get("basis")})
    return pd.DataFrame(rows)


def _resilience_html(rf: ResultFolder) -> str:
    """What the resilience rules cost, in words that match how each was decided.

    Only a rule re-solved without it can be said to bind ("the plan without the rule is
    cheaper", with the saving); a rule decided by tightness (`--no-resilience-cost`, the
    API) was not priced, and a re-solve that was not run or proved nothing is undecided
    (`binds` null), never "none binds" (docs/resilience.md).
    """
    frame = resilience_frame(rf.summary)
    if frame.empty:
        return ""
    resolved = frame["basis"] == "re-solve without the rule"
    undecided = frame["binds"].isna()
    measured = frame[resolved & ~undecided]
    binding = measured[measured["binds"] == True]  # noqa: E712 (object column)
    parts = []
    if not measured.empty:
        words = ("; ".join(f"{r['class']} {r['rule']} (USD {float(r['cost_usd_m']):,.2f} M"
                           + (f", adds {r['adds_phases']}" if r["adds_phases"] else "") + ")"
                           for _, r in binding.iterrows()) or "none binds")
        parts.append(f"Resilience rules that bind (the plan without the rule is cheaper): "
                     f"{words}.")
    if (~resolved).any():
        tight = frame[~resolved & (frame["binds"] == True)]  # noqa: E712 (object column)
        words = "; ".join(f"{r['class']} {r['rule']}" for _, r in tight.iterrows()) or "none"
        parts.append(f"Resilience rules tight in the plan (not re-solved, cost not "
                     f"measured): {words}.")
    if (resolved & undecided).any():
        notes = {(c, n): e.get("note") for c, rules in (rf.summary.get("resilience") or {})
                 .items() for n, e in (rules or {}).items()}
        words = "; ".join(f"{r['class']} {r['rule']}"
                          + (f" ({notes[r['class'], r['rule']]})"
                             if notes.get((r["class"], r["rule"])) else "")
                          for _, r in frame[resolved & undecided].iterrows())
        parts.append(f"Resilience rules whose cost is undecided or not measured: {words}.")
    note = ""
    if (~resolved).any():
        note = ('<p class="note">rules with basis "tight in the plan" were not re-solved: one '
                "that is not tight may still cost money (siteopt solve without "
                "--no-resilience-cost measures it)</p>")
    return ("".join(f"<p>{html.escape(x)}</p>" for x in parts) + note
            + table_html(frame, "resilience rules"))


def render(rf: ResultFolder, title: str, prefix: str = "",
           extra: list[figures.Chart] | None = None, extra_nav: str = "Scenarios") -> str:
    """The whole HTML page of one plan, after optional charts (a sweep's, values, alternatives).

    `extra_nav` names the link to the first of the `extra` charts.
    """
    sections, notes = plan_sections(rf)
    nav = [(extra[0].key, extra_nav)] if extra else []
    nav += [(charts[0].key, name) for name, charts in sections]
    body = [header_html(rf, title),
            "<nav>" + "".join(f'<a href="#{k}">{html.escape(n)}</a>' for k, n in nav) + "</nav>",
            "<main>", prefix]
    if notes:
        body.append("<section><h2>Notes</h2>" + "".join(
            f'<p class="note">{html.escape(n)}</p>' for n in notes) + "</section>")
    index = 0
    for chart in extra or []:
        body.append(f"<section>{_chart_html(chart, index)}</section>")
        index += 1
    if rf.has_plan:
        body.append(f"<section><h2>Summary</h2>{_unserved_html(rf)}{_resilience_html(rf)}"
                    "</section>")
    for name, charts in sections:
        body.append(_section_html(name, charts, index))
        index += len(charts)
    body.append("</main>")
    body.append(f"<script>{LABELS_JS}{LAZY_JS}</script>")
    # plotly.js (~1.5 MB) only when a chart draws with it: a folder without a plan (infeasible,
    # stopped before any plan) shows notes alone and must not weigh like a full report
    drawn = [c for c in (extra or []) + [c for _, cs in sections for c in cs]
             if c.figure is not None]
    plotly = f"<script type=\"text/javascript\">{_plotlyjs()}</script>" if drawn else ""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title>"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<style>{STYLE}</style>{plotly}</head><body>"
            + "\n".join(body) + "</body></html>\n")


def _section_html(name: str, charts: list[figures.Chart], index: int) -> str:
    """One section of the plan: its heading `name`, then its charts (numbered from `index`).

    A first chart named like its section ("Map" in "Map") takes the section's heading and
    anchor instead of repeating the name as a heading of its own.
    """
    merged = bool(charts) and charts[0].title == name
    anchor = f' id="{charts[0].key}"' if merged else ""
    inner = [_chart_html(chart, index + i, heading=not (merged and i == 0))
             for i, chart in enumerate(charts)]
    return f"<section><h2{anchor}>{html.escape(name)}</h2>{''.join(inner)}</section>"


def _render_page(p: decisions.Page) -> str:
    return render(p.rf, p.title, p.prefix, p.charts, p.nav)


def is_sweep(folder: Path) -> bool:
    """Whether `folder` is a sweep output (results.parquet and scenarios/)."""
    return (folder / "results.parquet").is_file() and (folder / "scenarios").is_dir()


def write_report(folder: str | Path, out: str | Path | None = None,
                 scenario: str | None = None, instance: Instance | None = None) -> Path:
    """Write the report of a result or sweep folder; returns the HTML file's path.

    Default `out`: `FOLDER/report.html`. `instance`: the solved instance if the caller has
    it (otherwise found from summary.json). Raises `InputError` (exit code 2) for a folder that
    is neither, naming the missing file, or an unknown `scenario`.
    """
    from siteopt.io.write import atomic_file

    folder = Path(folder)
    target = Path(out) if out else folder / REPORT_FILE
    if is_sweep(folder):
        page = sweep_page(folder, scenario)
    elif stochastic.is_stochastic(folder):
        page = _render_page(stochastic.stochastic_page(folder, scenario))
    elif decisions.is_alternatives(folder):
        page = _render_page(decisions.alternatives_page(folder, scenario))
    elif decisions.is_value(folder):
        if scenario is not None:
            raise InputError(Problem("--scenario", "a sweep or alternatives folder",
                                     found=f"{folder} (a value folder)"))
        page = _render_page(decisions.value_page(folder))
    else:
        if scenario is not None:
            raise InputError(Problem("--scenario", "a sweep folder (results.parquet and "
                                     "scenarios/), an alternatives or a two-stage folder",
                                     found=str(folder)))
        rf = read_result_folder(folder, instance)
        page = render(rf, f"siteopt plan: {rf.summary.get('instance', folder.name)}")
    if not target.parent.is_dir():
        raise InputError(Problem("--out", "a file in an existing folder", found=str(target)))
    with atomic_file(target, suffix=".html") as tmp:
        tmp.write_text(page, encoding="utf-8")
    return target


def sweep_page(folder: Path, scenario: str | None) -> str:
    """The sweep report: the scenarios side by side, then one scenario's plan."""
    table = pd.read_parquet(folder / "results.parquet")
    if table.empty:
        raise InputError(Problem(str(folder / "results.parquet"), "at least one scenario",
                                 found="an empty table"))
    ids = [str(s) for s in table["scenario"]]
    chosen = scenario or ids[0]
    if chosen not in ids:
        raise InputError(Problem("--scenario", "one of " + ", ".join(ids[:20]),
                                 found=chosen))
    rf = read_result_folder(folder / "scenarios" / chosen)
    overrides = json.dumps((rf.scenario or {}).get("overrides") or {})
    prefix = (f"<p>Sweep <b>{html.escape(folder.name)}</b>: {len(table)} scenarios; the plan "
              f"below is scenario <b>{html.escape(chosen)}</b> (overrides "
              f"<code>{html.escape(overrides)}</code>); choose another with "
              "<code>siteopt report SWEEP_DIR --scenario ID</code>.</p>")
    return render(rf, f"siteopt sweep: {folder.name} (scenario {chosen})", prefix,
                  [figures.sweep_chart(table)])
