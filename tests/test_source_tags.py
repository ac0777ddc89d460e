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
    import shutil

    folder = tmp_path / "v"
    shutil.copytree(VIETNAM, folder)
    path = folder / "zones.csv"
    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace('"S,A"', '"S,X"', 1)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"zones.csv, line 3, column 'source_tag'"):
        siteopt.load_instance(folder)
