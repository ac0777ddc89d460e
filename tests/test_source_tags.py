"""Provenance: every row of the Vietnam instance carries S/D/A tags in its own column, the
sources and derivations they claim exist and hold, and the README repeats the data as it is."""

from __future__ import annotations

import re
import shutil
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import siteopt
from siteopt.errors import InputError
from siteopt.stochastic.sample import grid_delay
from tests.conftest import VIETNAM


def test_every_vietnam_row_has_a_source_tag_matching_its_text():
    inst = siteopt.load_instance(VIETNAM)
    for name, table in inst.tables.items():
        if table.empty:
            continue
        assert "source_tag" in table.columns, f"{name}.csv has no source_tag column"
        for tag, text in zip(table["source_tag"], table["source"], strict=True):
            letters = str(tag).split(",")
            assert letters and set(letters) <= {"S", "D", "A"}, (name, tag)
            lead = re.match(r"\s*([SDA])\b", str(text))
            assert lead and lead.group(1) in letters, (name, tag, text)
            # every kind the text names is in the tag column (S [..], "x D", "y A: ...")
            named = set(TAG_IN_TEXT.findall(str(text)))
            assert named <= set(letters), (name, tag, sorted(named - set(letters)), text)


#: A tag letter as the source texts write it: before "[", ":", ";", ",", ")", "(", the end,
#: or a word that follows a tag ("A for", "D = ...", "S -> ...").
TAG_IN_TEXT = re.compile(r"(?<![A-Za-z0-9_\-/.])([SDA])(?=\s*\[|\s*:|\s*;|\s*,|\s*\)|\s+\(|\s*$"
                         r"|\s+(?:for|as|from|x|=|->|and|in|on|of|to|at|per))")


def test_a_row_as_another_carries_that_rows_tags_too():
    """"as p1" inherits p1's numbers, and so its kinds of number."""
    inst = siteopt.load_instance(VIETNAM)
    phases = inst.table("phases")
    tags = {(r.site, r.phase): set(str(r.source_tag).split(","))
            for r in phases.itertuples(index=False)}
    for r in phases.itertuples(index=False):
        for ref in re.findall(r"\bas (p\d)\b", str(r.source)):
            assert tags[r.site, ref] <= tags[r.site, r.phase], (r.site, r.phase, ref)


def test_a_bad_source_tag_is_bad_input(tmp_path):
    folder = tmp_path / "v"
    shutil.copytree(VIETNAM, folder)
    path = folder / "zones.csv"
    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace('"S,A"', '"S,X"', 1)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"zones.csv, line 3, column 'source_tag'"):
        siteopt.load_instance(folder)


# -- provenance that the letters alone do not prove ------------------------------------------
#
# The tag test above accepts any text that starts with a letter it lists: "S [99]" (no such
# reference), "S: announced" (no reference at all), a number added to instance.toml without a
# comment, or "VND 800 bn = USD 32 M" (not 25,500 VND per USD) all passed it. The helpers
# below read a folder, so each test can plant one such defect in a copy and see it caught.

#: "[n]" or "[n,m]": the reference numbers a text cites.
CITED = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
#: a numeric setting of instance.toml, with whatever follows it on its line.
TOML_NUMBER = re.compile(r"^\s*(\w+)\s*=\s*[-+]?\d[\d_.eE+-]*\s*(.*)$")
#: "VND 505 bn = USD 19.8 M": a conversion the README's rate must reproduce.
CONVERSION = re.compile(r"VND ([\d,.]+) (bn|trn) = USD ([\d,.]+) M")
SCALE = {"bn": 1e9, "trn": 1e12}


def _number(text: str) -> float:
    """A number as the README writes it ("1,277.5")."""
    return float(text.replace(",", ""))


def _readme(folder: Path) -> tuple[str, set[int]]:
    """The README's text before its reference list, and the numbers that list holds."""
    body, _, refs = (folder / "README.md").read_text(encoding="utf-8").partition("## References")
    return body, {int(n) for n in re.findall(r"^(\d+)\. ", refs, re.M)}


def _cited(text: str) -> set[int]:
    """The reference numbers `text` cites ("S [8,10]" -> {8, 10})."""
    return {int(n) for group in CITED.findall(text) for n in group.split(",")}


def _source_cells(folder: Path) -> Iterator[tuple[str, int, str]]:
    """(file, line, text) of every `source` cell of the folder's CSV files."""
    for path in sorted(folder.glob("*.csv")):
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        if "source" in table.columns:
            for i, text in enumerate(table["source"]):
                yield path.name, i + 2, text


def provenance_problems(folder: Path) -> list[str]:
    """What in `folder` claims a source it does not name, or a conversion that does not hold.

    * every reference a CSV `source` cell, instance.toml, scenarios.toml or the README cites
      is in the README's reference list;
    * every S a `source` cell names is followed by its reference ("S [n]");
    * every number of instance.toml carries a comment that starts with its tag;
    * every "VND x bn = USD y M" holds at the README's "Conversions use **r VND per USD**".
    """
    body, listed = _readme(folder)
    rate = _number(re.search(r"Conversions use \*\*([\d,]+) VND per USD", body).group(1))
    texts = list(_source_cells(folder))
    for name in ("instance.toml", "scenarios.toml"):
        if (folder / name).is_file():
            lines = (folder / name).read_text(encoding="utf-8").splitlines()
            texts += [(name, i + 1, text) for i, text in enumerate(lines)]
    texts += [("README.md", i + 1, text) for i, text in enumerate(body.splitlines())]
    out = []
    for name, line, text in texts:
        missing = sorted(_cited(text) - listed)
        if missing:
            out.append(f"{name} line {line}: cites {missing}, not in the README's references")
        for m in CONVERSION.finditer(text):
            usd = _number(m.group(1)) * SCALE[m.group(2)] / rate / 1e6
            if abs(usd - _number(m.group(3))) > 0.01 * usd:  # beyond rounding
                out.append(f"{name} line {line}: {m.group(0)}, but at {rate:,.0f} VND per USD "
                           f"it is USD {usd:,.1f} M")
    for name, line, text in _source_cells(folder):
        for m in TAG_IN_TEXT.finditer(text):
            if m.group(1) == "S" and not re.match(r"\s*\[\d", text[m.end():]):
                out.append(f"{name} line {line}: S without a reference: {text!r}")
    toml = folder / "instance.toml"
    for i, text in enumerate(toml.read_text(encoding="utf-8").splitlines()):
        m = TOML_NUMBER.match(text)
        if m and not re.match(r"#\s*[SDA]\b", m.group(2)):
            out.append(f"instance.toml line {i + 1}: {m.group(1)} has no S/D/A comment")
    return out


def planted_copy(tmp_path: Path, file: str, old: str, new: str) -> Path:
    """A copy of the Vietnam folder with the first `old` of `file` replaced by `new`."""
    folder = tmp_path / "v"
    shutil.copytree(VIETNAM, folder)
    path = folder / file
    text = path.read_text(encoding="utf-8")
    assert old in text, (file, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return folder


def test_vietnam_names_every_source_it_claims():
    assert provenance_problems(VIETNAM) == []


def test_vietnam_tariff_derivation_holds():
    """The README derives `tariff_usd_per_mwh` step by step (D [24]); every step must hold:
    Nov 2023 bands x 1.048 x 1.048 = the 2025 bands (rounded to 1 VND), their hour-weighted
    mean, its USD value at the README's rate, and instance.toml's comment repeats the bands."""
    row = next(ln for ln in (VIETNAM / "README.md").read_text(encoding="utf-8").splitlines()
               if ln.startswith("| `tariff_usd_per_mwh` |"))
    triple = r"([\d,]+) / ([\d,]+) / ([\d,]+)"
    m = re.search(triple + r" VND/kWh\) x ([\d.]+) \(Oct 2024\) x ([\d.]+) \(May 2025\) = "
                  + triple + r" VND/kWh", row)
    base = [_number(x) for x in m.group(1, 2, 3)]
    rise = _number(m.group(4)) * _number(m.group(5))
    bands = [_number(x) for x in m.group(6, 7, 8)]
    assert bands == [round(b * rise) for b in base], (bands, [b * rise for b in base])
    hours = [_number(x) for x in re.search(triple + r" of the 168 weekly hours", row).groups()]
    assert sum(hours) == 168
    mean = _number(re.search(r"\) / 168 = ([\d,]+) VND/kWh", row).group(1))
    assert mean == round(sum(h * b for h, b in zip(hours, bands, strict=True)) / 168)
    rate = _number(re.search(r"at ([\d,]+) VND/USD", row).group(1))
    inst = siteopt.load_instance(VIETNAM)
    assert inst.meta.economics.tariff_usd_per_mwh == pytest.approx(mean / rate * 1000, abs=0.05)
    toml = (VIETNAM / "instance.toml").read_text(encoding="utf-8")
    assert "/".join(f"{b:,.0f}" for b in bands) + " VND/kWh" in toml


# -- the README's tables repeat the CSV numbers ------------------------------------------------


#: a cell border of a markdown table row (an escaped "\\|" is text inside a cell)
CELL_BORDER = re.compile(r"(?<!\\)\|")


def _readme_table(text: str, header: str) -> list[dict[str, str]]:
    """The rows of the markdown table whose header line starts with `header`."""
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith(header))
    names = [c.strip() for c in CELL_BORDER.split(lines[start].strip().strip("|"))]
    rows = []
    for ln in lines[start + 2:]:
        if not ln.startswith("|"):
            break
        cells = [c.strip() for c in CELL_BORDER.split(ln.strip().strip("|"))]
        rows.append(dict(zip(names, cells, strict=True)))
    return rows


def _lead_number(cell: str) -> float:
    """The number a README cell starts with ("15 legacy" -> 15, "(60)" -> 60, "-" -> nan)."""
    m = re.match(r"\(?([\d,]*\.?\d+)", cell)
    return _number(m.group(1)) if m else float("nan")


def readme_table_mismatches(folder: Path) -> list[str]:
    """Where the README's per-file tables (sites, phases, cooling, zones and headroom anchors,
    upgrades) give another number than the CSV files."""
    text = (folder / "README.md").read_text(encoding="utf-8")
    read = {name: pd.read_csv(folder / f"{name}.csv") for name in
            ("sites", "phases", "cooling", "zones", "headroom", "upgrades")}
    out = []

    def same(where: str, doc: float, data: float) -> None:
        if not (doc == pytest.approx(data) or (doc != doc and data != data)):
            out.append(f"{where}: README {doc:g}, CSV {data:g}")

    sites = read["sites"].set_index("site")
    for r in _readme_table(text, "| site | zone | sponsor |"):
        site = re.match(r"`(\w+)`", r["site"]).group(1)
        row = sites.loc[site]
        if (r["zone"], r["sponsor"]) != (row["zone"], row["sponsor"]):
            out.append(f"sites {site}: README {r['zone']}, {r['sponsor']}")
        same(f"sites {site} max_it_mw", _lead_number(r["max IT MW"]), row["max_it_mw"])
        same(f"sites {site} existing_it_mw", _lead_number(r["existing"]), row["existing_it_mw"])
        same(f"sites {site} open_cost_usd_m", _lead_number(r["open cost USD M"]),
             row["open_cost_usd_m"])
    phases = read["phases"].set_index(["site", "phase"])
    for r in _readme_table(text, "| site | phase | IT MW |"):
        row = phases.loc[(r["site"], r["phase"])]
        where = f"phases {r['site']} {r['phase']}"
        same(f"{where} it_mw", _lead_number(r["IT MW"]), row["it_mw"])
        same(f"{where} capex_usd_m", _lead_number(r["capex USD M"]), row["capex_usd_m"])
        same(f"{where} lead_months", _lead_number(r["lead (months)"]), row["lead_months"])
        same(f"{where} earliest_decision_year", _lead_number(r["decision from"]),
             row["earliest_decision_year"])
        if r["cooling"].replace(" ", "") != row["cooling"].replace("|", ","):
            out.append(f"{where} cooling: README {r['cooling']}, CSV {row['cooling']}")
        if "committed" in r["online from"]:
            same(f"{where} committed_year", _lead_number(r["online from"].strip("*")),
                 row["committed_year"])
    cooling = read["cooling"].set_index("cooling")
    for r in _readme_table(text, "| cooling | PUE |"):
        row = cooling.loc[r["cooling"]]
        same(f"cooling {r['cooling']} pue", _lead_number(r["PUE"]), row["pue"])
        if row["buildable"]:
            same(f"cooling {r['cooling']} capex_factor", _lead_number(r["capex factor"]),
                 row["capex_factor"])
    zones = read["zones"].set_index("zone")
    head = read["headroom"].set_index(["zone", "year"])["headroom_mw"]
    anchors = _readme_table(text, "| zone | derate |")
    for r in anchors:
        zone = r["zone"].split(" ")[0]
        same(f"zones {zone} derate", _lead_number(r["derate"]), zones.loc[zone, "derate"])
        for year in (k for k in r if k.isdigit()):
            same(f"headroom {zone} {year}", _lead_number(r[year]), head.loc[(zone, int(year))])
    ups = read["upgrades"].set_index("upgrade")
    for r in _readme_table(text, "| upgrade | zone |"):
        row = ups.loc[r["upgrade"]]
        same(f"upgrades {r['upgrade']} add_mw", _lead_number(r["+MW"]), row["add_mw"])
        same(f"upgrades {r['upgrade']} capex_usd_m", _lead_number(r["USD M"]), row["capex_usd_m"])
        same(f"upgrades {r['upgrade']} lead_months", _lead_number(r["lead"]), row["lead_months"])
    return out


def test_vietnam_readme_tables_repeat_the_csv_numbers():
    assert readme_table_mismatches(VIETNAM) == []


@pytest.mark.parametrize("check, file, old, new, found", [
    (provenance_problems, "cooling.csv", "S [35]", "S [99]", "cooling.csv line 2: cites [99]"),
    (provenance_problems, "budgets.csv", "S [13]: USD 1.5 B", "S: USD 1.5 B",
     "budgets.csv line 16: S without a reference"),
    (provenance_problems, "instance.toml", "hours_per_year = 8760.0     # D: 365 x 24",
     "hours_per_year = 8760.0", "hours_per_year has no S/D/A comment"),
    (provenance_problems, "upgrades.csv", "VND 505 bn = USD 19.8 M", "VND 505 bn = USD 20.2 M",
     "at 25,500 VND per USD it is USD 19.8 M"),
    (readme_table_mismatches, "phases.csv", "danang_htp,p3,4,50,318.18",
     "danang_htp,p3,4,50,454.55", "phases danang_htp p3 capex_usd_m: README 318.18, CSV 454.55"),
    (readme_table_mismatches, "sites.csv", "Open-Central,13.783,109.22,6.4,40,",
     "Open-Central,13.783,109.22,6.4,60,", "sites quynhon max_it_mw: README 40, CSV 60"),
    (readme_table_mismatches, "headroom.csv", "nghe_an,2030,70.0", "nghe_an,2030,75.0",
     "headroom nghe_an 2030: README 70, CSV 75"),
    (readme_table_mismatches, "upgrades.csv", "up_bac_ninh,bac_ninh,100.0,40.0",
     "up_bac_ninh,bac_ninh,100.0,20.0", "upgrades up_bac_ninh capex_usd_m: README 40, CSV 20"),
])
def test_planted_defects_are_found(tmp_path, check, file, old, new, found):
    """Each check finds one defect planted in a copy (which the tag test alone let pass)."""
    problems = check(planted_copy(tmp_path, file, old, new))
    assert any(found in p for p in problems), problems


# -- the scenario set is what its README table says -------------------------------------------


def assert_scenarios_as_documented(folder: Path) -> None:
    """Each scenario of `folder`'s scenarios.toml is one value per driver of the README's table:
    its probability the product of the drivers' probabilities, its overrides the AI scale, the
    two-year grid delay (as `grid_delay` writes it) and the tariff, +20 % of instance.toml's."""
    text = (folder / "README.md").read_text(encoding="utf-8")
    rows = {r["driver"].split(" ")[0]: r for r in _readme_table(text, "| driver | values |")}

    def probs(driver: str) -> list[float]:
        return [_number(x) for x in rows[driver]["probability (A)"].split(" / ")]

    scales = [_number(x) for x in re.findall(r"x([\d.]+)", rows["AI"]["values"])]
    tariffs = [_number(x) for x in re.findall(r"([\d.]+)(?: /| USD)", rows["energy"]["values"])]
    inst = siteopt.load_instance(folder)
    assert tariffs[0] == inst.meta.economics.tariff_usd_per_mwh
    assert tariffs[1] == pytest.approx(1.2 * tariffs[0])
    assert "two years late" in rows["northern"]["values"]
    late = [f"{k}={v}" for k, v in grid_delay(inst, ("hanoi_west", "bac_ninh"), 2)]
    ai = dict(zip(("low", "base", "high"), zip(scales, probs("AI"), strict=True), strict=True))
    grid = dict(zip(("on-time", "late"), probs("northern"), strict=True))
    tariff = dict(zip(("base", "up20"), zip(tariffs, probs("energy"), strict=True), strict=True))
    raw = tomllib.loads((folder / "scenarios.toml").read_text(encoding="utf-8"))
    seen = set()
    for s in raw["scenario"]:
        a, g, t = re.fullmatch(r"ai-(\w+)\.grid-([\w-]+)\.tariff-(\w+)", s["id"]).groups()
        seen.add((a, g, t))
        assert s["probability"] == pytest.approx(ai[a][1] * grid[g] * tariff[t][1]), s["id"]
        expected = ([f"demand[class=ai].scale={ai[a][0]:g}"] if ai[a][0] != 1 else [])
        expected += late if g == "late" else []
        expected += ([f"economics.tariff_usd_per_mwh={tariff[t][0]:g}"] if t == "up20" else [])
        assert sorted(s["set"]) == sorted(expected), s["id"]
    assert len(seen) == len(ai) * len(grid) * len(tariff) == len(raw["scenario"])


def test_vietnam_scenarios_are_the_documented_product_of_three_drivers():
    assert_scenarios_as_documented(VIETNAM)


@pytest.mark.parametrize("file, old, new", [
    ("scenarios.toml", "probability = 0.09", "probability = 0.10"),
    ("scenarios.toml", '"demand[class=ai].scale=1.5"', '"demand[class=ai].scale=1.4"'),
    ("instance.toml", "tariff_usd_per_mwh = 74.7 ", "tariff_usd_per_mwh = 80.0 "),
    ("headroom.csv", "bac_ninh,2030,80.0", "bac_ninh,2030,85.0"),
])
def test_planted_scenario_drift_is_found(tmp_path, file, old, new):
    """A probability, a scale, the base tariff or a headroom row the late-grid rows copy,
    changed on one side only."""
    folder = planted_copy(tmp_path, file, old, new)
    with pytest.raises(AssertionError):
        assert_scenarios_as_documented(folder)
