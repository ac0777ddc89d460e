"""Provenance: every row of the Vietnam instance carries S/D/A tags in its own column, and
the sources and derivations they claim exist and hold."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

import siteopt
from siteopt.errors import InputError
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
    return float(text.replace(",", ""))


def _readme(folder: Path) -> tuple[str, set[int]]:
    """The README's text before its reference list, and the numbers that list holds."""
    body, _, refs = (folder / "README.md").read_text(encoding="utf-8").partition("## References")
    return body, {int(n) for n in re.findall(r"^(\d+)\. ", refs, re.M)}


def _cited(text: str) -> set[int]:
    return {int(n) for group in CITED.findall(text) for n in group.split(",")}


def _source_cells(folder: Path):
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
    texts = [(name, line, text) for name, line, text in _source_cells(folder)]
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


def test_vietnam_names_every_source_it_claims():
    assert provenance_problems(VIETNAM) == []


@pytest.mark.parametrize("file, old, new, found", [
    ("cooling.csv", "S [35]", "S [99]", "cites [99]"),
    ("budgets.csv", "S [13]: USD 1.5 B", "S: USD 1.5 B", "S without a reference"),
    ("instance.toml", "hours_per_year = 8760.0     # D: 365 x 24", "hours_per_year = 8760.0",
     "hours_per_year has no S/D/A comment"),
    ("upgrades.csv", "VND 505 bn = USD 19.8 M", "VND 505 bn = USD 20.2 M",
     "at 25,500 VND per USD it is USD 19.8 M"),
])
def test_planted_provenance_defects_are_found(tmp_path, file, old, new, found):
    folder = tmp_path / "v"
    shutil.copytree(VIETNAM, folder)
    path = folder / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    problems = provenance_problems(folder)
    assert any(file in p and found in p for p in problems), problems


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
