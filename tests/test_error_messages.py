"""TOML keys and `--set` scalars are reported like CSV cells: file, line, key, what was
expected and what was found; misspelt names get a "did you mean"."""

from __future__ import annotations

import pytest

import siteopt
from siteopt.data.overrides import apply_overrides
from siteopt.errors import InputError
from siteopt.scenarios.sweep import read_spec

BAD_TOML = """name = "x"
[horizon]
first_year = 2030
last_year = 2030

[service]
allow_unserved = false
max_utilisation = 0.9
[economics]
discount_rate = "abc"
"""


def _message(fn) -> str:
    with pytest.raises(InputError) as info:
        fn()
    text = str(info.value)
    assert "Input should" not in text and "Extra inputs" not in text, text
    return text


def test_instance_toml_problems_name_line_key_and_expectation(tiny_copy):
    folder = tiny_copy("cheapest-site")
    (folder / "instance.toml").write_text(BAD_TOML)
    text = _message(lambda: siteopt.load_instance(folder))
    assert ("instance.toml, line 10, column 'economics.discount_rate': expected a number "
            ">= 0 and <= 1, found 'abc'") in text
    assert "instance.toml, line 8, column 'service.max_utilisation'" in text
    assert "did you mean 'max_utilization'?" in text


def test_sweep_spec_problems_name_the_line(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text('[solve]\ntime_limit = 20\ngap = "tight"\n[sample]\nn = 2\nsed = 3\n')
    text = _message(lambda: read_spec(spec))
    assert f"{spec}, line 3, column 'solve.gap': expected a number >= 0" in text
    assert "line 6, column 'sample.sed'" in text and "did you mean 'seed'?" in text


def test_set_scalars_and_override_names():
    inst = siteopt.load_instance()
    text = _message(lambda: apply_overrides(inst, {"economics.discount_rate": "abc"}))
    assert "column 'economics.discount_rate': expected a number >= 0 and <= 1" in text
    text = _message(lambda: apply_overrides(inst, {"economics.discount_rat": 0.1}))
    assert "did you mean 'economics.discount_rate'?" in text
    text = _message(lambda: apply_overrides(inst, {"headroom.headrom_mw": 1}))
    assert "did you mean 'headroom_mw'?" in text
    text = _message(lambda: apply_overrides(inst, {"headrom.scale": 1}))
    assert "did you mean 'headroom'?" in text


def test_csv_header_typo_gets_a_suggestion(tiny_copy):
    folder = tiny_copy("cheapest-site")
    path = folder / "sites.csv"
    lines = path.read_text().splitlines()
    lines[0] = lines[0].replace("open_cost_usd_m", "open_cost_usdm")
    path.write_text("\n".join(lines) + "\n")
    text = _message(lambda: siteopt.load_instance(folder))
    assert "sites.csv, line 1, column 'open_cost_usdm'" in text
    assert "did you mean 'open_cost_usd_m'?" in text


def test_sweep_spec_with_a_latin1_byte_names_line_and_character(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_bytes(b'[solve]\ntime_limit = 20\n# caf\xe9\n')
    text = _message(lambda: read_spec(spec))
    assert f"{spec}, line 3: expected UTF-8 text" in text
    assert "byte 0xe9 ('é' in Latin-1) at character 6 of the line" in text
