"""The sensitivity notebooks: stored without outputs, and they run (on reduced grids)."""

from __future__ import annotations

import ast
import os
import re

import nbformat
import pytest

from tests.conftest import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def test_there_are_at_least_two_studies():
    assert len(NOTEBOOKS) >= 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_without_outputs_and_calls_only_the_api(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, path.name
            for line in cell.source.splitlines():
                if line.startswith(("import ", "from ")):
                    assert line.split()[1].split(".")[0] in {
                        "os", "pathlib", "itertools", "matplotlib", "pandas", "siteopt",
                        "IPython"}, line
    assert "CONCLUSION_" not in "".join(c.source for c in nb.cells)


def discarded_displays(source: str) -> list[str]:
    """Bare expressions of a code cell that Jupyter never shows.

    Only a cell's last statement is displayed: a table or value written as a bare
    expression before it (say, a results table followed by an `assert`) is computed and
    silently dropped, so the reader never sees it. Calls (`display(...)`, `plt.show()`)
    and string literals (comments in disguise) are not displays and are allowed anywhere.
    """
    body = ast.parse(source).body
    return [ast.unparse(s) for s in body[:-1] if isinstance(s, ast.Expr)
            and not isinstance(s.value, ast.Call | ast.Constant)]


def test_discarded_display_lint():
    assert discarded_displays("t = 1\nt[['a']]\nassert t") == ["t[['a']]"]
    assert discarded_displays("display(t)\nplt.show()\nt") == []
    assert discarded_displays("'note'\nx = 1") == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_table_is_computed_and_dropped(path):
    """Every table a cell writes as a bare expression is the cell's last statement."""
    nb = nbformat.read(path, as_version=4)
    dropped = [line for cell in nb.cells if cell.cell_type == "code"
               for line in discarded_displays(cell.source)]
    assert dropped == [], f"{path.name}: shown by nobody (display() them or end with them)"


#: Text a markdown cell may contain although it has digits (none needed so far): a number in
#: prose is a claim, and claims are computed in code cells (issue 12).
MARKDOWN_DIGITS_ALLOWED: tuple[str, ...] = ()
_HEADING_NUMBER = re.compile(r"^(#+\s*)\d+(\.\d+)*\.\s", re.MULTILINE)  # "## 1. Cooling"
_LIST_NUMBER = re.compile(r"^(\s*)\d+\.(?=\s)", re.MULTILINE)  # "1. **What ...**"
_FOOTNOTE = re.compile(r"\[\^\w+\]")  # "[^1]"


def markdown_numbers(text: str) -> list[str]:
    """The lines of a markdown cell that state a number (digits outside the allowed places).

    Allowed: section numbers of headings, ordered-list markers, footnote references and the
    strings of MARKDOWN_DIGITS_ALLOWED. Everything else with a digit is a stated number.
    """
    text = _HEADING_NUMBER.sub(r"\1", text)
    text = _LIST_NUMBER.sub(r"\1", text)
    text = _FOOTNOTE.sub("", text)
    for allowed in MARKDOWN_DIGITS_ALLOWED:
        text = text.replace(allowed, "")
    return [line.strip() for line in text.splitlines() if re.search(r"\d", line)]


def test_markdown_lint_flags_numbers():
    assert markdown_numbers("## 1. Cooling\n\n1. **Why?** Because.\nSee [^2].") == []
    assert markdown_numbers("rises from 27 % to 46 %") == ["rises from 27 % to 46 %"]
    assert markdown_numbers("# 2035 plan") == ["# 2035 plan"]
    assert markdown_numbers("at x1.3 the share") == ["at x1.3 the share"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_markdown_states_no_numbers(path):
    """Prose stays qualitative: every number is printed by a code cell from the run."""
    nb = nbformat.read(path, as_version=4)
    stated = [line for cell in nb.cells if cell.cell_type == "markdown"
              for line in markdown_numbers(cell.source)]
    assert stated == [], f"{path.name}: compute these in a code cell: {stated}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_conclusion_is_computed(path):
    """The closing conclusion is a code cell that builds its sentences from the results."""
    nb = nbformat.read(path, as_version=4)
    last = nb.cells[-1]
    assert last.cell_type == "code" and "display(Markdown(" in last.source, path.name


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(path, tmp_path, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("SITEOPT_NOTEBOOK_QUICK", "1")
    monkeypatch.setenv("SITEOPT_NOTEBOOK_OUT", str(tmp_path / "results"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    # the kernel (and its Dask workers) import this checkout's siteopt, as the tests do
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p))
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    printed = "".join(out.get("text", "") for cell in nb.cells if cell.cell_type == "code"
                      for out in cell.outputs if out.get("output_type") == "stream")
    assert "USD M" in printed  # the findings cell ran and printed numbers
    assert not any(out.get("output_type") == "error" for cell in nb.cells
                   if cell.cell_type == "code" for out in cell.outputs)
    assert (list((tmp_path / "results").rglob("results.parquet"))  # sweeps
            or list((tmp_path / "results").rglob("summary.json")))  # value, alternatives
    shown = [out["data"]["text/markdown"] for out in nb.cells[-1].outputs
             if "text/markdown" in out.get("data", {})]
    assert shown and "USD M" in shown[0]  # the computed conclusion was displayed


VALUE = REPO / "notebooks" / "value-of-headroom-and-alternatives.ipynb"


def _cell(nb, marker: str) -> str:
    """The source of the one code cell containing `marker`."""
    found = [c.source for c in nb.cells if c.cell_type == "code" and marker in c.source]
    assert len(found) == 1, marker
    return found[0]


def test_value_notebook_says_which_zone_years_it_ranks():
    """`max_curves` re-solves only the zone-years closest to binding (8 of the Vietnam
    instance's 51 in the full run): the prose must not promise every one, and the "worth
    most" finding must say among how many it ranks and over which years the step applies."""
    nb = nbformat.read(VALUE, as_version=4)
    assert "max_curves" in _cell(nb, "value_args = dict(")
    prose = " ".join(" ".join(c.source.split()) for c in nb.cells if c.cell_type == "markdown")
    assert "For every zone-year" not in prose
    findings = _cell(nb, "Headroom worth most")
    assert "zone-years re-solved" in findings and "closest to binding" in findings
    assert "headroom_scope" in findings


def test_value_notebook_headroom_curves_are_drawn_in_delta_order(monkeypatch):
    """Full-run deltas include cuts: each curve runs left to right through (0, 0), never
    back from the cut to the first relaxation across the origin."""
    import matplotlib
    import pandas as pd

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.setattr(plt, "show", lambda *a, **k: None)
    nb = nbformat.read(VALUE, as_version=4)
    headroom = pd.DataFrame({"zone": ["z1"] * 4, "year": [2030] * 4,
                             "delta_mw": [50.0, -20.0, 20.0, 100.0],
                             "delta_objective": [-30.0, 40.0, -15.0, -35.0]})
    exec(_cell(nb, "Value of grid headroom"), {"plt": plt, "pd": pd, "headroom": headroom})
    try:
        (line,) = [ln for ln in plt.gca().get_lines() if ln.get_label() == "z1 2030"]
        x = list(line.get_xdata())
        assert x == sorted(x) and 0 in x
    finally:
        plt.close("all")


def _stochastic_conclusion(infeasible: list[str], hedge_cost: float) -> str:
    """The stochastic notebook's conclusion cell, run on made-up results."""
    from types import SimpleNamespace

    from siteopt.stochastic.spec import ScenarioSet, ScenarioSpec

    nb = nbformat.read(REPO / "notebooks" / "stochastic-hedging.ipynb", as_version=4)
    late = (("upgrades[zone=bac_ninh].lead_months.add", "24"),)
    scenarios = ScenarioSet(decision_year=2027, scenarios=(
        ScenarioSpec("ai-base.grid-on-time", 0.4),
        ScenarioSpec("ai-high.grid-on-time", 0.3, (("demand[class=ai].scale", "1.4"),)),
        ScenarioSpec("ai-base.grid-late", 0.3, late)))
    two = SimpleNamespace(worst_cost=120.0, costs=[100.0, 110.0, 120.0], expected_cost=108.0,
                          evpi=3.0, vss=float("inf"))
    shown: list[str] = []
    exec(_cell(nb, "**Conclusion.**"), {
        "two": two, "scenarios": scenarios, "commitments": [1, 2], "hedges": [],
        "dropped": [], "gap": "1.00 %", "hedge_cost": hedge_cost, "value_of_hedging": 2.0,
        "det_infeasible": [], "infeasible": infeasible, "display": lambda m: shown.append(m),
        "Markdown": lambda text: text})
    return " ".join(shown)


def test_stochastic_conclusion_computes_why_commitments_fail():
    """Which scenarios leave the mean-value commitments without a plan is computed, not
    assumed: when none of them changes the grid the sentence must not blame a late grid."""
    text = _stochastic_conclusion(["ai-high.grid-on-time"], hedge_cost=5.0)
    assert "late grid" not in text and "1 of 3 scenarios" in text
    assert "none of them changes the grid" in text
    text = _stochastic_conclusion(["ai-base.grid-late"], hedge_cost=5.0)
    assert "all of them change the grid" in text
    assert "Hedging costs 5.0 USD M" in text


def test_stochastic_conclusion_says_a_negative_hedging_cost_is_a_saving():
    text = _stochastic_conclusion([], hedge_cost=-2.5)
    assert "costs -" not in text and "Hedging saves 2.5 USD M" in text
