"""Hostile input: valid tiny instances corrupted at random end in a clear error or a plan.

Hypothesis (derandomized: the same cases on every run) draws a tiny instance and one to
three corruptions: wrong types, NaN, infinities, negative and huge numbers, empty cells and
files, unknown ids, duplicate and missing rows, unicode and control characters in ids, byte
order marks, wrong delimiters, CRLF, truncation, bytes that are not UTF-8, broken or hostile
TOML. The outcome must be one of the documented ones:

* in-process reading and pre-solve checks (most cases): an `Instance` or an `InputError`,
  never any other exception;
* through the command line (`siteopt solve`): a documented exit code (0, 2, 3 or 4) with no
  traceback and no internal error, and a verified plan whenever the code is 0.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siteopt.checks.presolve import presolve_checks
from siteopt.cli.main import main
from siteopt.data.load import load_instance
from siteopt.errors import InputError
from siteopt.solver.pipeline import RESULT_TABLES
from tests.conftest import REPO, TINY

BASES = ("cheapest-site", "cooling-class", "grid-upgrade", "annual-budget", "latency-target",
         "committed-phase", "existing-capacity", "phase-timing", "service-cost")

#: Replacement cells: wrong types, special floats, signs, magnitudes, ids, unicode, control.
CELLS = ("", " ", "nan", "NaN", "inf", "-inf", "Infinity", "-1", "-0", "0", "1e308", "1e400",
         "-1e308", "1e7", "1e12", "1e-300", "2030.5", "9999", "-2030", "abc", "true", "maybe",
         "1,5", '"5"', '"a,b"', "0x10", "1_000", "٣", "5e", ".", "A", "B", "Z", "air",
         "cloud", "R", "city", "unknown-id", "Hà Nội", "東京", "🚀", "\u200b", "\u202e", "a|a",
         "a||b", "|", "air|immersion", "\ufeffA", "\x00", "\x7f", "2030", "2031", "12", "0.5",
         "[/x]", "[red]", "[bold", "\\", "%s", "{0}", "$HOME", "<b>")

#: Numbers that are valid somewhere: zero, tiny, huge, fractional, years, percentages.
NUMBERS = ("0", "0.0", "1", "2", "5", "8", "12", "20", "100", "0.5", "0.01", "1e-9", "1e-300",
           "1e5", "1e7", "1e9", "1e12", "1e300", "2030", "2031", "24", "36", "1.5", "3")

#: Values for instance.toml keys (TOML syntax): special floats, wrong types, extremes.
TOML_VALUES = ("nan", "inf", "-inf", "-1", "0", "1e400", "1e300", '"text"', "true", "[1, 2]",
               "99999", "2029", "2031", "0.5", '""', "{a = 1}", '"[/x]"', '"[red]"')

TOML_KEYS = ("first_year", "last_year", "discount_rate", "tariff_usd_per_mwh",
             "allow_unserved", "unserved_penalty_usd_m_per_mw_year", "max_utilization",
             "rtt_ms_per_km", "name", "hours_per_year", "it_load_factor", "strong_linking")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _split(text: str) -> list[list[str]]:
    return [line.split(",") for line in text.splitlines()]


def _join(rows: list[list[str]]) -> str:
    return "\n".join(",".join(r) for r in rows) + "\n"


@st.composite
def corruptions(draw: st.DrawFn) -> tuple[str, list[tuple]]:
    """A base instance and a list of corruption steps (applied by `_apply`)."""
    base = draw(st.sampled_from(BASES))
    steps = []
    for _ in range(draw(st.sampled_from((1, 1, 1, 2, 3)))):
        kind = draw(st.sampled_from((
            *["cell"] * 8, *["number"] * 24, "duplicate row", "drop row", "drop column",
            "rename column", "delimiter", "bom", "empty file", "header only", "delete file",
            "crlf", "truncate", "latin-1", "nul", "blank lines", "trailing comma", "toml",
            "toml", "toml garbage", "huge row")))
        cells = NUMBERS if kind == "number" else CELLS
        steps.append((kind, draw(st.integers(0, 10_000)), draw(st.integers(0, 10_000)),
                      draw(st.sampled_from(cells)), draw(st.sampled_from(TOML_KEYS)),
                      draw(st.sampled_from(TOML_VALUES))))
    return base, steps


def _apply(folder: Path, steps: list[tuple]) -> None:
    """Apply corruption steps to the instance in `folder` (deterministic given the steps)."""
    for kind, a, b, cell, key, value in steps:
        files = sorted(p for p in folder.iterdir() if p.suffix == ".csv")
        toml = folder / "instance.toml"
        if kind.startswith("toml"):
            text = toml.read_text(encoding="utf-8", errors="replace") if toml.exists() else ""
            if kind == "toml garbage":
                text = text[: a % (len(text) + 1)] + "= [[\n" if a % 2 else "\ufeff" + text
            else:
                lines = [ln for ln in text.splitlines() if not ln.startswith(f"{key} ")]
                section = {"first_year": "[horizon]", "last_year": "[horizon]",
                           "name": None}.get(key, "[service]")
                if key in ("discount_rate", "tariff_usd_per_mwh", "hours_per_year",
                           "it_load_factor"):
                    section = "[economics]"
                elif key == "rtt_ms_per_km":
                    section = "[latency]"
                entry = f"{key} = {value}"
                if section is None:
                    lines.insert(0, entry)
                elif section in lines:
                    lines.insert(lines.index(section) + 1, entry)
                else:
                    lines += [section, entry]
                text = "\n".join(lines) + "\n"
            toml.write_text(text, encoding="utf-8")
            continue
        if not files:
            continue
        path = files[a % len(files)]
        raw = path.read_bytes()
        text = raw.decode("utf-8", errors="replace")
        rows = _split(text)
        if kind in ("cell", "number") and rows:
            r = rows[b % len(rows)] if len(rows) == 1 else rows[1 + b % (len(rows) - 1)]
            numeric = [j for j, c in enumerate(r) if _is_number(c)]
            if kind == "number" and numeric:
                r[numeric[a % len(numeric)]] = cell
            elif r:
                r[a % len(r)] = cell
            path.write_text(_join(rows), encoding="utf-8")
        elif kind == "duplicate row" and len(rows) > 1:
            rows.append(list(rows[1 + b % (len(rows) - 1)]))
            path.write_text(_join(rows), encoding="utf-8")
        elif kind == "drop row" and len(rows) > 1:
            del rows[1 + b % (len(rows) - 1)]
            path.write_text(_join(rows), encoding="utf-8")
        elif kind == "drop column" and rows and rows[0]:
            j = b % len(rows[0])
            path.write_text(_join([[c for i, c in enumerate(r) if i != j] for r in rows]),
                            encoding="utf-8")
        elif kind == "rename column" and rows and rows[0]:
            rows[0][b % len(rows[0])] = cell or "x"
            path.write_text(_join(rows), encoding="utf-8")
        elif kind == "delimiter":
            path.write_text(text.replace(",", ";" if b % 2 else "\t"), encoding="utf-8")
        elif kind == "bom":
            path.write_bytes(b"\xef\xbb\xbf" + raw if b % 2 else raw[: a % (len(raw) + 1)]
                             + b"\xef\xbb\xbf" + raw[a % (len(raw) + 1):])
        elif kind == "empty file":
            path.write_bytes(b"")
        elif kind == "header only":
            path.write_text(text.splitlines()[0] + "\n" if text else "", encoding="utf-8")
        elif kind == "delete file":
            path.unlink()
        elif kind == "crlf":
            path.write_bytes(raw.replace(b"\n", b"\r\n"))
        elif kind == "truncate":
            path.write_bytes(raw[: b % (len(raw) + 1)])
        elif kind == "latin-1":
            path.write_bytes(raw + "Z,é\n".encode("latin-1"))
        elif kind == "nul":
            path.write_bytes(raw[: b % (len(raw) + 1)] + b"\x00" + raw[b % (len(raw) + 1):])
        elif kind == "blank lines":
            path.write_text(text.replace("\n", "\n\n,,\n" if b % 2 else "\n  \n"),
                            encoding="utf-8")
        elif kind == "trailing comma":
            path.write_text(text.replace("\n", ",\n"), encoding="utf-8")
        elif kind == "huge row":
            path.write_text(text + ",".join([cell] * (50 + b % 500)) + "\n", encoding="utf-8")


def _corrupted_copy(base: str, steps: list[tuple], root: Path) -> Path:
    folder = root / base
    shutil.copytree(TINY / base, folder)
    _apply(folder, steps)
    return folder


FUZZ = settings(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@settings(FUZZ, max_examples=520)
@given(corruptions())
def test_reading_a_corrupted_instance_gives_an_instance_or_an_input_error(case):
    base, steps = case
    with tempfile.TemporaryDirectory() as tmp:
        folder = _corrupted_copy(base, steps, Path(tmp))
        try:
            inst = load_instance(folder)
        except InputError as exc:
            assert exc.problems and all(p.file for p in exc.problems)
            assert "Traceback" not in str(exc)
            return
        for finding in presolve_checks(inst):
            assert finding.message and finding.level in ("error", "warning")


def _check_cli_outcome(code: int, text: str, out: Path) -> None:
    assert code in (0, 2, 3, 4), text
    assert "Traceback" not in text and "internal error" not in text, text
    if code == 0:
        summary = json.loads((out / "summary.json").read_text())
        assert summary["verified"] is True
        assert sorted(p.name for p in out.iterdir()) == sorted(
            [f"{t}.csv" for t in RESULT_TABLES] + ["summary.json"])
    elif code in (3, 4):
        assert sorted(p.name for p in out.iterdir()) == ["summary.json"]
    else:
        assert not out.exists()


@settings(FUZZ, max_examples=60, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])
@given(case=corruptions())
def test_solving_a_corrupted_instance_ends_cleanly(case, capsys):
    base, steps = case
    with tempfile.TemporaryDirectory() as tmp:
        folder = _corrupted_copy(base, steps, Path(tmp))
        out = Path(tmp) / "out"
        # --no-report: the folder's files are checked exactly (the report has its own tests)
        code = main(["solve", str(folder), "--out", str(out), "--quiet", "--no-report"])
        captured = capsys.readouterr()
        _check_cli_outcome(code, captured.out + captured.err, out)


@settings(FUZZ, max_examples=8)
@given(corruptions())
def test_the_command_line_process_never_shows_a_traceback(case):
    base, steps = case
    with tempfile.TemporaryDirectory() as tmp:
        folder = _corrupted_copy(base, steps, Path(tmp))
        out = Path(tmp) / "out"
        proc = subprocess.run([sys.executable, "-m", "siteopt", "solve", str(folder), "--out",
                               str(out), "--quiet", "--no-report"], cwd=REPO,
                              capture_output=True, text=True, timeout=300)
        _check_cli_outcome(proc.returncode, proc.stdout + proc.stderr, out)
