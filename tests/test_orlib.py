"""The OR-Library benchmarks, imported into ordinary instances, match their published optima.

The problems are solved by the same data-center model as the Vietnam plans (one year, one
phase per site, an explicit serving-cost table); models/classic.md §6 shows the reduction.
Files and optima: tests/data/orlib/ (a vendored subset, see its README; the optima are
rounded to 3 decimals, inconsistently, hence the absolute tolerance 1e-3 beside the
relative 1e-9).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

import siteopt
from siteopt.errors import ExitCode, InputError
from siteopt.io.orlib import import_orlib, read_pmed
from tests.conftest import REPO
from tests.test_cli import run

ORLIB = REPO / "tests" / "data" / "orlib"


def _optima() -> dict[tuple[str, str], float]:
    with open(ORLIB / "optima.csv", newline="") as f:
        return {(r["family"], r["instance"]): float(r["optimal_value"])
                for r in csv.DictReader(f)}


OPTIMA = _optima()
CAP_SMALL = sorted((i for f, i in OPTIMA if f == "cap" and i[3:].isdigit()),
                   key=lambda i: int(i[3:]))
UFL_SMALL = sorted((i for f, i in OPTIMA if f == "ufl_orlib" and i[3:].isdigit()),
                   key=lambda i: int(i[3:]))
#: UflLib samples fast enough for CI; E10.1, MO1 and MP1 (tens of seconds to minutes) are in
#: benchmarks/orlib.py.
UFLLIB = ["B1.1", "B1.2", "D1.1"]
PMED_SMALL = [f"pmed{k}" for k in range(1, 6)]


def _matches(value: float | None, published: float) -> bool:
    return value is not None and abs(value - published) <= 1e-3 + 1e-9 * abs(published)


def _solve(kind: str, source: Path, tmp_path: Path) -> siteopt.Result:
    folder = import_orlib(kind, source, tmp_path / source.stem)
    result = siteopt.solve(siteopt.load_instance(folder))
    assert result.status == "optimal"
    assert result.verified, result.violations
    return result


def test_the_small_sets_are_complete():
    assert len(CAP_SMALL) == 37 and CAP_SMALL[0] == "cap41" and CAP_SMALL[-1] == "cap134"
    assert len(UFL_SMALL) == 12
    assert {i for f, i in OPTIMA if f == "ufl_uflLib"} >= set(UFLLIB)


@pytest.mark.parametrize("name", CAP_SMALL)
def test_capacitated_optimum(name, tmp_path):
    result = _solve("orlib-cap", ORLIB / "cap" / f"{name}.txt", tmp_path)
    assert _matches(result.objective, OPTIMA["cap", name]), result.objective


@pytest.mark.parametrize("name", UFL_SMALL)
def test_uncapacitated_optimum(name, tmp_path):
    result = _solve("orlib-ufl", ORLIB / "cap" / f"{name}.txt", tmp_path)
    assert result.method.name == "benders", result.method.reason
    published = OPTIMA["ufl_orlib", name]
    assert _matches(result.objective, published), result.objective
    # the UflLib-style solution file holds the same value, unrounded, as its last token
    opt_file = ORLIB / "ufl" / "opt" / f"{name}.txt.opt"
    assert _matches(result.objective, float(opt_file.read_text().split()[-1]))


@pytest.mark.parametrize("name", UFLLIB)
def test_ufllib_sample_optimum(name, tmp_path):
    result = _solve("orlib-ufl", ORLIB / "ufl" / "uflLib" / name, tmp_path)
    assert _matches(result.objective, OPTIMA["ufl_uflLib", name]), result.objective


@pytest.mark.parametrize("name", PMED_SMALL)
def test_pmedian_optimum(name, tmp_path):
    result = _solve("orlib-pmed", ORLIB / "pmed" / f"{name}.txt", tmp_path)
    assert result.method.name == "benders", result.method.reason
    assert _matches(result.objective, OPTIMA["pmed", name]), result.objective
    sites = result.tables["sites"]
    p = int((ORLIB / "pmed" / f"{name}.txt").read_text().split()[2])
    assert sites["open_year"].notna().sum() == p


def test_pmed_duplicate_edges_keep_the_last_length(tmp_path):
    """The format's rule: a later line for the same pair overwrites the earlier length."""
    f = tmp_path / "dup.txt"
    f.write_text("3 3 1\n1 2 5\n2 3 1\n2 1 9\n")
    graph = read_pmed(f).graph
    assert graph.edges[1, 2]["length"] == 9
    folder = import_orlib("orlib-pmed", f, tmp_path / "dup")
    result = siteopt.solve(siteopt.load_instance(folder))
    # median at 2: 9 (vertex 1) + 0 + 1 (vertex 3) = 10; at 1: 0 + 9 + 10; at 3: 10 + 1 + 0
    assert result.objective == pytest.approx(10.0)


def test_capacity_word_needs_the_capacity_option(tmp_path):
    f = tmp_path / "capx.txt"  # the capa/b/c layout: the word 'capacity' for each capacity
    f.write_text("2 1\ncapacity 100.\ncapacity 50.\n 7 3.5 4.25\n")
    with pytest.raises(InputError) as err:
        import_orlib("orlib-cap", f, tmp_path / "capa")
    assert "--capacity" in str(err.value) and "line 2" in str(err.value)
    assert not (tmp_path / "capa").exists()


def test_truncated_file_names_the_line_and_what_was_expected(tmp_path):
    f = tmp_path / "cut.txt"
    f.write_text("2 2\n100 10\n100 x\n")
    with pytest.raises(InputError) as err:
        import_orlib("orlib-cap", f, tmp_path / "cut")
    text = str(err.value)
    assert "line 3" in text and "fixed cost of warehouse 2" in text and "'x'" in text


def test_cli_import_then_solve(tmp_path):
    """The issue's two commands, through the real entry point."""
    inst, res = tmp_path / "cap41", tmp_path / "res"
    proc = run("import", "orlib-cap", str(ORLIB / "cap" / "cap41.txt"), str(inst))
    assert proc.returncode == ExitCode.OK, proc.stderr
    proc = run("solve", str(inst), "--out", str(res), "--quiet")
    assert proc.returncode == ExitCode.OK, proc.stderr
    summary = json.loads((res / "summary.json").read_text())
    assert summary["status"] == "optimal" and summary["verified"]
    assert _matches(summary["objective"], OPTIMA["cap", "cap41"])


def test_capacity_option_fills_in_the_capacity(tmp_path):
    """Two warehouses of capacity 5 (fixed 100, 50), one customer of demand 7 costing 3.5
    from the first and 4.25 from the second: both must open, 5 + 2 split by cost."""
    f = tmp_path / "capx.txt"
    f.write_text("2 1\ncapacity 100.\ncapacity 50.\n 7 3.5 4.25\n")
    folder = import_orlib("orlib-cap", f, tmp_path / "capx", capacity=5)
    result = siteopt.solve(siteopt.load_instance(folder))
    assert result.objective == pytest.approx(150 + 3.5 * 5 / 7 + 4.25 * 2 / 7)


def test_cli_capacity_word_exits_with_bad_input(tmp_path):
    f = tmp_path / "capx.txt"
    f.write_text("2 1\ncapacity 100.\ncapacity 50.\n 7 3.5 4.25\n")
    proc = run("import", "orlib-cap", str(f), str(tmp_path / "b"))
    assert proc.returncode == ExitCode.BAD_INPUT
    assert "--capacity" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize(("kind", "text", "line", "what"), [
    ("orlib-cap", "2 1000000000000\n5 5\n5 5\n1 2 3\n", 4, "demand of customer 2"),
    ("orlib-ufl", "2 1000000000000\n5 5\n5 5\n1 2 3\n", 4, "demand of customer 2"),
    ("orlib-ufl", "FILE: x\n1000000 1000000 0\n1 2 3\n", 3, "cost of serving customer 2"),
])
def test_header_sizes_the_file_does_not_hold_end_at_its_end(tmp_path, kind, text, line, what):
    """A header asking for 10^12 numbers is read until the file ends, not allocated first
    (it was an internal MemoryError, exit 1)."""
    f = tmp_path / "big.txt"
    f.write_text(text)
    with pytest.raises(InputError) as err:
        import_orlib(kind, f, tmp_path / "big")
    message = str(err.value)
    assert f"line {line}" in message and what in message and "end of file" in message
    proc = run("import", kind, str(f), str(tmp_path / "cli"))
    assert proc.returncode == ExitCode.BAD_INPUT and "Traceback" not in proc.stderr


def test_pmed_vertex_on_no_edge_line_is_an_input_error(tmp_path):
    """n in the header beyond the vertices the edges reach (a wrong n, or an isolated
    vertex: pmedinfo graphs are connected) is an input error, not a graph of n vertices
    (n = 10^9 took over 12 GB before)."""
    f = tmp_path / "lonely.txt"
    f.write_text("2000 2 1\n1 2 5\n2 2 1\n")
    with pytest.raises(InputError) as err:
        import_orlib("orlib-pmed", f, tmp_path / "lonely")
    message = str(err.value)
    assert "line 1" in message and "vertex 3 on none" in message
    assert not (tmp_path / "lonely").exists()
    f.write_text("1 0 1\n")  # one vertex: a graph, connected, without edges
    assert read_pmed(f).graph.number_of_nodes() == 1


def test_cli_capacity_option(tmp_path):
    """`--capacity` through the real entry point (the README's capa command is skipped
    where the benchmark files are absent, as in CI)."""
    f = tmp_path / "capx.txt"
    f.write_text("2 1\ncapacity 100.\ncapacity 50.\n 7 3.5 4.25\n")
    proc = run("import", "orlib-cap", str(f), str(tmp_path / "a"), "--capacity", "5")
    assert proc.returncode == ExitCode.OK, proc.stderr
    phases = siteopt.load_instance(tmp_path / "a").tables["phases"]
    assert phases["it_mw"].tolist() == [5.0, 5.0]
    assert phases["capex_usd_m"].tolist() == [100.0, 50.0]
    proc = run("import", "orlib-ufl", str(f), str(tmp_path / "u"), "--capacity", "5")
    assert proc.returncode == ExitCode.BAD_INPUT and "orlib-cap only" in proc.stderr
    assert not (tmp_path / "u").exists()


@pytest.mark.parametrize(("kind", "source", "unit"), [
    ("orlib-cap", ORLIB / "cap" / "cap41.txt", "benchmark cost units"),
    ("orlib-pmed", ORLIB / "pmed" / "pmed1.txt", "benchmark distance units"),
])
def test_an_imported_benchmark_is_printed_in_its_own_units(tmp_path, kind, source, unit):
    """cap41's optimum was printed as "1,040,444.38 USD M (present value)" and pmed1's sum of
    graph distances in USD M too: the files' numbers are in no currency. The instance
    carries its unit (`cost_unit`), which the console, summary.json and the report print;
    an instance that says nothing stays in USD M."""
    inst, res = tmp_path / "inst", tmp_path / "res"
    assert run("import", kind, str(source), str(inst)).returncode == ExitCode.OK
    assert siteopt.load_instance(inst).meta.cost_unit == unit
    proc = run("solve", str(inst), "--out", str(res), "--no-report")
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert f"{unit} (present value)" in proc.stdout and "USD" not in proc.stdout
    summary = json.loads((res / "summary.json").read_text())
    assert summary["objective_unit"] == f"{unit} (present value)"
    assert siteopt.load_instance(REPO / "instances" / "tiny" / "cheapest-site").meta.cost_unit \
        == "USD M"
