"""Provenance: every row of the Vietnam instance carries S/D/A tags in its own column."""

from __future__ import annotations

import re

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


def test_a_bad_source_tag_is_bad_input(tmp_path):
    import shutil

    folder = tmp_path / "v"
    shutil.copytree(VIETNAM, folder)
    path = folder / "zones.csv"
    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace('"S,A"', '"S,X"', 1)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"zones.csv, line 3, column 'source_tag'"):
        siteopt.load_instance(folder)
