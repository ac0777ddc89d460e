"""Every example in README.md runs: overrides apply to the bundled instance and leave it
feasible as far as the pre-solve checks can tell, sweep specs and API grids load, and the
cheap `siteopt` commands of its bash blocks succeed (solves are replaced by a validation of
the same instance with the same overrides)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tomllib
from functools import cache

import pytest

import siteopt
from siteopt.checks.presolve import errors, presolve_checks
from siteopt.data.overrides import apply_overrides, parse_assignments
from siteopt.scenarios.sweep import SweepSpec, load_sweep
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```(\w*)\n(.*?)```", README, flags=re.S)
#: generator presets too large to be a cheap test
EXPENSIVE_PRESETS = ("medium", "large", "400k", "xl")


def _set_examples() -> list[str]:
    """`--set KEY=VALUE` in prose and bash blocks, and the KEY=VALUE rows of the tables."""
    found = [m.group(1) or m.group(2)
             for m in re.finditer(r"--set (?:'([^']+)'|([^\s`'\]]+=[^\s`']+))", README)]
    found += re.findall(r"^\| `([a-z_]+(?:\[[^`]*\])?\.[a-z_.]+=[^`]+)` \|", README, flags=re.M)
    return [item.replace("\\|", "|") for item in found if "KEY=VALUE" not in item]


def _commands() -> list[list[str]]:
    out = []
    for lang, body in BLOCKS:
        if lang != "bash":
            continue
        for line in body.splitlines():
            line = line.split("#", 1)[0] if "siteopt" in line else ""
            for part in line.split("&&"):
                words = shlex.split(part)
                if words and words[0] == "siteopt":
                    out.append(words)
    return out


@cache
def _bundled():
    return siteopt.load_instance()


def _feasible_so_far(overrides: dict[str, object]) -> None:
    inst = apply_overrides(_bundled(), overrides)
    found = [str(f) for f in errors(presolve_checks(inst))]
    assert not found, f"README example {overrides} makes the instance infeasible: {found}"


SETS = _set_examples()


def test_readme_has_override_examples():
    assert len(SETS) >= 12 and "economics.discount_rate=0.08" in SETS


@pytest.mark.parametrize("item", SETS)
def test_override_example_applies_and_stays_feasible(item):
    _feasible_so_far(parse_assignments([item]))


def test_sweep_spec_and_api_grid_of_the_readme_load():
    spec_text = next(body for lang, body in BLOCKS if lang == "toml")
    raw = tomllib.loads(spec_text)
    raw.pop("instance", None)  # relative to a spec file; the bundled instance is the same
    sweep = load_sweep(SweepSpec.model_validate(raw), instance=_bundled())  # applies each
    assert len(sweep.scenarios) > 1
    api = next(body for lang, body in BLOCKS if lang == "python")
    grid = re.search(r"grid=(\{.*?\})\)", api, flags=re.S)
    assert grid is not None
    for key, values in eval(grid.group(1)).items():  # a literal dict in the README
        for value in values:
            _feasible_so_far({key: value})


COMMANDS = _commands()


def test_readme_has_commands():
    assert any(c[1] == "solve" for c in COMMANDS) and any(c[1] == "generate" for c in COMMANDS)


@pytest.mark.parametrize("words", COMMANDS, ids=lambda w: " ".join(w[1:4]))
def test_readme_command_runs(words, tmp_path):
    command, args = words[1], words[2:]
    if command in ("solve", "explain", "export"):
        # the solve itself is not cheap: validate the same instance with the same overrides
        sets = [args[i + 1] for i, a in enumerate(args) if a == "--set"]
        positional = [a for i, a in enumerate(args)
                      if not a.startswith("-") and (i == 0 or not args[i - 1].startswith("-"))]
        if positional and not (REPO / positional[0]).exists():
            made = [c for c in COMMANDS if c[1] == "import" and positional[0] in c]
            assert made, f"README: {' '.join(words)} names no instance the README makes"
            return  # made by an `import` command of the README, checked there
        _feasible_so_far(parse_assignments(sets))
        return
    if command == "import":
        # a reader follows the README in a fresh clone: the file it imports ships with it
        source = (REPO / args[1]).resolve()
        assert source.is_relative_to(REPO.resolve()) and source.is_file(), (
            f"README: {' '.join(words)} imports {args[1]}, which is not in the repository")
    if command == "generate" and any(p in args for p in EXPENSIVE_PRESETS):
        args = [a for a in args if a not in EXPENSIVE_PRESETS and a != "--preset"]
    if command == "import":
        args = [str(REPO / args[1]) if i == 1 else a for i, a in enumerate(args)]
    proc = subprocess.run([sys.executable, "-m", "siteopt", command, *args],
                          capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, f"README: {' '.join(words)}\n{proc.stdout}\n{proc.stderr}"


def _slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces as -."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_readme_links_lead_somewhere():
    """Every `(#anchor)` names a heading of the README and every relative link a file or folder
    of the repository: the 'Where to start' paths must not break when a section is renamed."""
    anchors = {_slug(h) for h in re.findall(r"^#+ (.+)$", README, flags=re.M)}
    links = re.findall(r"\]\(([^)\s]+)\)", README)
    assert any(link.startswith("#") for link in links)
    for link in links:
        if link.startswith("#"):
            assert link[1:] in anchors, f"README links {link}, which is no heading"
        elif not re.match(r"https?://", link):
            target = (REPO / link.split("#", 1)[0]).resolve()
            assert target.is_relative_to(REPO.resolve()) and target.exists(), (
                f"README links {link}, which is not in the repository")


@pytest.mark.parametrize("doc", ["README.md", *sorted(p.relative_to(REPO).as_posix()
                                                      for p in (REPO / "docs").glob("*.md"))])
def test_doc_commands_name_no_path_outside_the_clone(doc):
    """A command to copy names files of the repository or a placeholder, never one beside it
    (`../shared/...` ran only on the development machine)."""
    text = (REPO / doc).read_text(encoding="utf-8")
    for lang, body in re.findall(r"```(\w*)\n(.*?)```", text, flags=re.S):
        if lang in ("bash", "sh", "console"):
            outside = [w for w in body.split() if w.startswith("../")]
            assert not outside, f"{doc}: a command names {outside}, outside the repository"
