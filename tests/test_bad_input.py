"""Malformed instances: each gets an error naming file, line and column, and exit code 2."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from siteopt.cli.main import main
from siteopt.data.load import load_instance
from siteopt.errors import ExitCode, InputError


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (old, text)
    path.write_text(text.replace(old, new, 1))


# name -> (corruption(folder), expected file, line or None, column or None, words in message)
CASES = {
    "missing file": (lambda d: (d / "demand.csv").unlink(), "demand.csv", None, None,
                     "no such file"),
    "missing column": (lambda d: (d / "phases.csv").write_text(
        "site,phase,capex_usd_m\nA,P1,100\nB,P1,120\n"), "phases.csv", 1, "it_mw",
        "no such column"),
    "ragged row": (lambda d: _edit(d / "phases.csv", "B,P1,10,120", "B,P1,10,120,7"),
                   "phases.csv", 3, None, "comma-separated"),
    "wrong type": (lambda d: _edit(d / "phases.csv", "A,P1,10,100", "A,P1,10,abc"),
                   "phases.csv", 2, "capex_usd_m", "finite number"),
    "negative": (lambda d: _edit(d / "phases.csv", "B,P1,10,120", "B,P1,-10,120"),
                 "phases.csv", 3, "it_mw", ">= 0"),
    "nan": (lambda d: _edit(d / "demand.csv", "2030,8", "2030,nan"), "demand.csv", 2, "it_mw",
            "finite number"),
    "inf": (lambda d: _edit(d / "demand.csv", "2030,8", "2030,inf"), "demand.csv", 2, "it_mw",
            "finite number"),
    "duplicate id": (lambda d: _edit(d / "sites.csv", "B,Z,b,5", "A,Z,b,5"), "sites.csv", 3,
                     "site", "unique"),
    "unknown reference": (lambda d: _edit(d / "sites.csv", "B,Z,b,5", "B,Q,b,5"), "sites.csv",
                          3, "zone", "zones.csv"),
    "unknown node": (lambda d: _edit(d / "sites.csv", "B,Z,b,5", "B,Z,nowhere,5"), "sites.csv",
                     3, "node", "fiber graph"),
    "year outside horizon": (lambda d: _edit(d / "demand.csv", "2030,8", "2040,8"),
                             "demand.csv", 2, "year", "horizon"),
    "region cut off": (lambda d: (d / "links.csv").write_text("a,b,km\na,b,10\ncity,x,5\n"),
                       "demand.csv", 2, "region", "cut off"),
    "unknown column": (lambda d: _edit(d / "sites.csv", "site,zone", "site,zonee"),
                       "sites.csv", 1, "zonee", "unknown column"),
    "empty file": (lambda d: (d / "regions.csv").write_text(""), "regions.csv", 1, None,
                   "empty file"),
    "semicolons": (lambda d: (d / "classes.csv").write_text("class;name\ncloud;Cloud\n"),
                   "classes.csv", 1, "class", "comma-separated"),
    "bad toml": (lambda d: _edit(d / "instance.toml", "first_year = 2030", "first_year = "),
                 "instance.toml", 4, None, "valid TOML"),
    "bad metadata": (lambda d: _edit(d / "instance.toml", "allow_unserved = false",
                                     "allow_unserved = maybe"), "instance.toml", None, None,
                     "valid"),
    "missing required cell": (lambda d: _edit(d / "phases.csv", "A,P1,10,100", "A,P1,,100"),
                              "phases.csv", 2, "it_mw", "a value"),
    "reversed horizon": (lambda d: _edit(d / "instance.toml", "last_year = 2030",
                                         "last_year = 2020"), "instance.toml", None, None,
                         "last_year"),
    # TOML true is not the number 1 (pydantic alone would take it: a 100 % discount rate)
    "true for a number": (lambda d: (d / "instance.toml").write_text(
        (d / "instance.toml").read_text() + "[economics]\ndiscount_rate = true\n"),
        "instance.toml", None, "economics.discount_rate", "true"),
    # an optional table under a near name would be read as absent: the plan would go without
    "misnamed table": (lambda d: (d / "Budgets.csv").write_text(
        "sponsor,year,max_capex_usd_m\n,2030,50\n"), "Budgets.csv", None, None,
        "did you mean budgets.csv"),
    "table is a folder": (lambda d: (d / "service_costs.csv").mkdir(), "service_costs.csv",
                          None, None, "a folder of that name"),
    # one boolean vocabulary: yes/no (or 1/0, on/off) is an error, not a guess
    "yes for a bool cell": (lambda d: (d / "cooling.csv").write_text(
        "cooling,pue,buildable\nair,1.5,yes\n"), "cooling.csv", 2, "buildable",
        "expected true or false, found 'yes'"),
    "yes for a bool key": (lambda d: _edit(d / "instance.toml", "allow_unserved = false",
                                           'allow_unserved = "yes"'), "instance.toml", 7,
                           "service.allow_unserved", "expected true or false, found 'yes'"),
    "1 for a bool key": (lambda d: _edit(d / "instance.toml", "allow_unserved = false",
                                         "allow_unserved = 1"), "instance.toml", 7,
                         "service.allow_unserved", "expected true or false, found '1'"),
    # pandas named record 2 (counted from 0 after the header); the quote opens on line 3
    "unclosed quote": (lambda d: (d / "demand.csv").write_text(
        'region,class,year,it_mw\nR,cloud,2030,8\nR,"cloud,2031,1\nR,cloud,2032,1\n'),
        "demand.csv", 3, None, 'a closing quote (") for the quoted field'),
    # was "at most the header's 0 fields on every line", found on line 2
    "blank first line": (lambda d: (d / "sites.csv").write_text(
        "\n" + (d / "sites.csv").read_text(encoding="utf-8"), encoding="utf-8"),
        "sites.csv", 1, None, "expected the header (column names) first, found 'a blank line'"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_error_names_file_line_column(case, tiny_copy):
    corrupt, file, line, column, words = CASES[case]
    folder = tiny_copy("cheapest-site")
    corrupt(folder)
    with pytest.raises(InputError) as info:
        load_instance(folder)
    match = [p for p in info.value.problems if p.file == file]
    assert match, str(info.value)
    text = str(info.value)
    assert words in text
    if line is not None:
        assert any(p.row == line for p in match), text
        assert f"line {line}" in text
    if column is not None:
        assert any(p.column == column for p in match), text


@pytest.mark.parametrize("case", ["wrong type", "duplicate id", "region cut off", "bad toml"])
def test_cli_exit_code_and_no_traceback(case, tiny_copy, tmp_path, capsys):
    folder = tiny_copy("cheapest-site")
    CASES[case][0](folder)
    out = tmp_path / "results"
    code = main(["solve", str(folder), "--out", str(out), "--quiet"])
    captured = capsys.readouterr()
    assert code == ExitCode.BAD_INPUT
    assert "Traceback" not in captured.err + captured.out
    assert CASES[case][1] in captured.err
    assert not out.exists()
    assert not list(tmp_path.glob(".results*"))


def test_all_problems_reported_at_once(tiny_copy):
    folder = tiny_copy("cheapest-site")
    _edit(folder / "phases.csv", "A,P1,10,100", "A,P1,x,y")
    _edit(folder / "sites.csv", "B,Z,b,5", "B,Z,b,-5")
    with pytest.raises(InputError) as info:
        load_instance(folder)
    cols = {(p.file, p.column) for p in info.value.problems}
    assert {("phases.csv", "it_mw"), ("phases.csv", "capex_usd_m"),
            ("sites.csv", "open_cost_usd_m")} <= cols


def test_unreachable_latency_target_is_an_error_without_unserved(tiny_copy):
    folder = tiny_copy("latency-target")
    _edit(folder / "latency_targets.csv", "R,cloud,2", "R,cloud,1")
    with pytest.raises(InputError, match=re.escape("no site within 1 ms")):
        load_instance(folder)


def test_unreachable_latency_target_warns_with_unserved(tiny_copy):
    folder = tiny_copy("latency-target")
    _edit(folder / "latency_targets.csv", "R,cloud,2", "R,cloud,1")
    _edit(folder / "instance.toml", "allow_unserved = false", "allow_unserved = true")
    inst = load_instance(folder)
    assert any("no site within 1 ms" in w for w in inst.warnings)


def test_an_unclosed_quote_after_a_closed_multiline_field_names_its_own_line(tiny_copy):
    """A closed quoted field spanning lines 2-3 and a doubled quote do not count: the open
    quote is the one on line 4."""
    folder = tiny_copy("cheapest-site")
    (folder / "sites.csv").write_text('site,zone,node,open_cost_usd_m,note\n'
                                      'A,Z,a,10,"two\nlines, one ""quoted"""\n'
                                      'B,Z,b,5,"never closed\n\n')
    with pytest.raises(InputError) as info:
        load_instance(folder)
    [problem] = info.value.problems
    assert (problem.file, problem.row) == ("sites.csv", 4)
    assert "closing quote" in problem.expected


@pytest.mark.parametrize(("given", "want"), [("TRUE", True), ("False", False), ("true", True)])
def test_true_and_false_in_any_case_are_the_bools(tiny_copy, given, want):
    """Excel writes TRUE/FALSE: those are the same words as true/false."""
    folder = tiny_copy("cheapest-site")
    (folder / "cooling.csv").write_text(f"cooling,pue,buildable\nair,1.5,true\nold,2,{given}\n")
    assert load_instance(folder).table("cooling")["buildable"].tolist() == [True, want]


@pytest.mark.parametrize("key", ["service.allow_unserved", "resilience.cloud.distinct_zones",
                                 "cooling[cooling=air].buildable"])
@pytest.mark.parametrize("value", ["yes", "no", "1", "on"])
def test_set_takes_the_same_bool_words(key, value, capsys):
    """--set takes true/false like a cell and the TOML file, and names the key otherwise."""
    from tests.conftest import TINY

    code = main(["solve", str(TINY / "cheapest-site"), "--set", f"{key}={value}", "--quiet",
                 "--no-report"])
    assert code == ExitCode.BAD_INPUT
    assert f"column '{key}': expected true or false, found '{value}'" in capsys.readouterr().err


def test_bom_and_spaces_are_accepted(tiny_copy):
    folder = tiny_copy("cheapest-site")
    text = (folder / "sites.csv").read_text().replace(",", ", ")
    (folder / "sites.csv").write_bytes(b"\xef\xbb\xbf" + text.encode())
    inst = load_instance(folder)
    assert list(inst.table("sites")["zone"]) == ["Z", "Z"]


def test_markup_like_text_is_printed_verbatim(tiny_copy, capsys):
    """Text in brackets (rich's markup syntax) in ids, names and bad cells is shown as is
    (regression: '[/x]' in a cell crashed the error message with a traceback)."""
    folder = tiny_copy("cheapest-site")
    _edit(folder / "phases.csv", "A,P1,10,100", "A,P1,[/x],100")
    assert main(["solve", str(folder), "--quiet"]) == ExitCode.BAD_INPUT
    assert "found '[/x]'" in capsys.readouterr().err
    _edit(folder / "phases.csv", "A,P1,[/x],100", "[/s],P1,10,100")
    _edit(folder / "sites.csv", "A,Z,a", "[/s],Z,a")
    _edit(folder / "instance.toml", 'name = "tiny-cheapest-site"', 'name = "[red]x"')
    assert main(["solve", str(folder)]) == ExitCode.OK
    out = capsys.readouterr().out
    assert "[red]x  status optimal" in out and "[/s]" in out


def test_an_unreadable_table_is_bad_input_not_an_internal_error(tiny_copy, monkeypatch, capsys):
    folder = tiny_copy("cheapest-site")
    real = Path.read_text

    def no_permission(self, *args, **kwargs):
        if self.name == "zones.csv":
            raise PermissionError(13, "Permission denied")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", no_permission)
    assert main(["validate", str(folder)]) == ExitCode.BAD_INPUT
    err = capsys.readouterr().err
    assert "zones.csv" in err and "readable" in err and "Traceback" not in err


# a quoted note spanning three lines sits on lines 2-4 (CRLF too): the next row starts on 5
NOTE = '"first line\nsecond line\nthird line"'


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("rows, expected", [
    # a cell rule, a duplicate key (both lines named), a ragged row, a cross-table reference
    ("B,P1,x,120,", "phases.csv, line 5, column 'it_mw'"),
    ("A,P1,10,120,", "phases.csv, line 5, column 'phase': expected a unique (site, phase); "
     "line 2 has the same"),
    ("B,P1,10,120,,7", "phases.csv, line 5: expected comma-separated text"),
    ("\nC,P1,10,120,", "phases.csv, line 6, column 'site'"),
])
def test_lines_after_a_multiline_note_are_the_editors_lines(tiny_copy, newline, rows, expected):
    folder = tiny_copy("cheapest-site")
    text = f"site,phase,it_mw,capex_usd_m,note\nA,P1,10,100,{NOTE}\n{rows}\n"
    (folder / "phases.csv").write_bytes(text.replace("\n", newline).encode())
    with pytest.raises(InputError) as info:
        load_instance(folder)
    assert expected in str(info.value)


def test_a_multiline_note_keeps_later_rows_valid(tiny_copy):
    folder = tiny_copy("cheapest-site")
    (folder / "phases.csv").write_text(
        f"site,phase,it_mw,capex_usd_m,note\nA,P1,10,100,{NOTE}\n\nB,P1,10,120,\n")
    phases = load_instance(folder).table("phases")
    assert list(phases["site"]) == ["A", "B"]
    assert list(phases.attrs["line"]) == [2, 6]


@pytest.mark.parametrize("file, data, expected", [
    # an Excel 'é' saved as Latin-1 (0xe9) in a cell, after a multi-line note, in the header
    ("sites.csv", b"site,zone,node,open_cost_usd_m,name\nA,Z,a,10,x\nB,Z,b,5,Caf\xe9\n",
     "sites.csv, line 3, column 'name': expected UTF-8 text"),
    ("phases.csv", b'site,phase,it_mw,capex_usd_m,note\nA,P1,10,100,"a\nb"\nB,P1,10,12\xe9,\n',
     "phases.csv, line 4, column 'capex_usd_m': expected UTF-8 text"),
    ("zones.csv", b"zone,n\xe9\nZ,x\n", "zones.csv, line 1: expected UTF-8 text"),
    ("instance.toml", None, "instance.toml, line 1: expected UTF-8 text"),
])
def test_a_byte_that_is_not_utf8_is_located_by_line_and_column(tiny_copy, file, data,
                                                                 expected):
    folder = tiny_copy("cheapest-site")
    if data is None:  # a Latin-1 'é' in the instance's name
        text = (folder / file).read_text().replace('"tiny-cheapest-site"', '"caf\xe9"')
        data = text.encode("latin-1")
    (folder / file).write_bytes(data)
    with pytest.raises(InputError) as info:
        load_instance(folder)
    text = str(info.value)
    assert expected in text, text
    assert "byte 0xe9 ('é' in Latin-1) at character" in text
    assert "position" not in text  # not Python's byte offset


def test_a_non_utf8_byte_gives_its_character_position_and_exit_2(tiny_copy, capsys):
    folder = tiny_copy("cheapest-site")
    (folder / "sites.csv").write_bytes(b"site,zone,node,open_cost_usd_m,name\n"
                                       b"A,Z,a,10,x\nB,Z,b,5,Caf\xe9\n")
    assert main(["validate", str(folder)]) == ExitCode.BAD_INPUT
    err = " ".join(capsys.readouterr().err.split())
    assert "at character 12 of the line" in err and "save the file as UTF-8" in err


@pytest.mark.parametrize("given", [["--workers", "3"], ["--workers", "0"],
                                   ["--scheduler", "tcp://127.0.0.1:1"]])
def test_scenario_options_without_scenarios_are_bad_input_naming_them(given, capsys):
    """`solve --workers N` or `--scheduler ADDR` without --scenarios ran a plain solve and
    ignored them; they are for the two-stage solve only, so it is exit 2 naming the option
    (--workers 0, the explicit choice of one process, too)."""
    from tests.conftest import TINY

    code = main(["solve", str(TINY / "cheapest-site"), "--quiet", *given])
    err = " ".join(capsys.readouterr().err.split())
    assert code == ExitCode.BAD_INPUT, err
    assert f"{given[0]}: expected" in err and "--scenarios" in err
    assert "Traceback" not in err


def test_solve_without_scenario_options_still_solves(capsys):
    """Not giving --workers or --scheduler is no error (their default is None)."""
    from tests.conftest import TINY

    assert main(["solve", str(TINY / "cheapest-site"), "--quiet"]) == ExitCode.OK



@pytest.mark.parametrize(("text", "starts", "extra", "unclosed"), [
    ("a,b\n1,2\n", [2], None, None),
    ("a,b\n1,2", [2], None, None),  # no line break at the end
    ('a,b\n1,"x\ny"\n3,4\n', [2, 4], None, None),  # a closed field on lines 2-3
    ('a,b\n1,"x ""y"""\n', [2], None, None),  # doubled quotes inside quotes
    ('a,b\n1,x"y\n', [2], None, None),  # a quote inside a field opens nothing
    ('a,b\n1,"', [2], None, 2),  # the quote is the text's last character
    ('a,b\n1,"x\r\ny\r\n', [2], None, 2),
    ('"a,b\n1,2\n', [], None, 1),  # the header's own quote
    ('a,b\n1,2,3\n4,"5\n\n', [2, 3], (2, 3), 3),  # both found, each at its line
    ("", [], None, None),
])
def test_one_scan_finds_records_extra_fields_and_an_open_quote(text, starts, extra, unclosed):
    """`scan_csv` is the one reader of a table's layout (the unclosed-quote line used to come
    from a second, hand-written scanner): record lines, fields beyond the header and an open
    quote, even one that ends the text, come from the same csv-module reading."""
    from siteopt.io.read import scan_csv

    layout = scan_csv(text)
    assert (layout.starts, layout.extra, layout.unclosed) == (starts, extra, unclosed)
    assert "\ufdd0" not in "".join(layout.names)  # the end marker never leaks out
