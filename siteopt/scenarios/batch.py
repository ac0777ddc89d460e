"""Batch solves for CI: solve many instances and compare each with its expected result.

The expected-values file (TOML) lists instances by folder, relative to the expected file's
own folder (two folders never share a key, whatever their `instance.toml` names say)::

    [defaults]                       # optional; these are the defaults
    rtol = 1e-6                      # relative tolerance on the objective
    atol = 1e-6                      # absolute tolerance on the objective (USD M)

    [instances."tiny/cheapest-site"]
    status = "optimal"
    objective = 110.0
    reason = "hand-derived, instances/tiny/README.md"   # why this value (kept with it)

    [instances.vietnam-2026]
    status = "optimal"
    objective = 5585.29
    rtol = 2e-4                      # per instance; also time_limit and gap (solve options;
                                     # a command-line flag wins, then these, then the
                                     # instance's solver section)

A case passes when the status is the expected one, a plan (if any) is verified, and the
objective lies within max(atol, rtol * |expected|) of the expected value. With an expected
file, an instance that is not listed fails (nothing is compared silently). A listed instance
that was not among the paths given is skipped with a note, so a subset of the expected file can
be checked; with `strict` it fails. `expected_toml` writes the results in this format (keys
relative to the file written), so a recorded baseline passes when checked. A listed folder
that holds no instance (renamed, deleted or misspelt) fails whatever the paths: no run
could ever check it. Keys are read in normal form (`tiny/a/` and `./tiny/a` are `tiny/a`).
"""

from __future__ import annotations

import json
import math
import os
import posixpath
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from siteopt.data.load import load_instance
from siteopt.errors import InputError, Problem
from siteopt.io.schema import METADATA_FILE
from siteopt.io.tomlfile import key_line, read_toml_model
from siteopt.io.write import atomic_file
from siteopt.solver.highs import SolveOptions
from siteopt.solver.interrupt import Interrupted
from siteopt.solver.pipeline import solve


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Defaults(_Strict):
    """Tolerances applied where an instance gives none."""

    rtol: float = Field(1e-6, ge=0)
    atol: float = Field(1e-6, ge=0)


class Expected(_Strict):
    """The expected outcome of one instance, with optional solve options."""

    status: str | None = None
    objective: float | None = None
    rtol: float | None = Field(None, ge=0)
    atol: float | None = Field(None, ge=0)
    time_limit: float | None = Field(None, gt=0)
    gap: float | None = Field(None, ge=0, le=1)  # a relative gap, as solver.gap
    reason: str = ""


class ExpectFile(_Strict):
    """The contents of an expected-values file."""

    defaults: Defaults = Defaults()
    instances: dict[str, Expected] = Field(default_factory=dict)


@dataclass
class Case:
    """One instance of a batch and its verdict."""

    name: str  # the key: the folder relative to the expected file
    path: str
    verdict: str  # "pass", "fail", "error" or "skip"
    message: str
    status: str | None = None
    objective: float | None = None
    expected: float | None = None
    gap: float | None = None
    verified: bool | None = None
    seconds: float = 0.0
    time_limit: float | None = None  # the solve options given by the command or the file
    gap_limit: float | None = None


def read_expected(path: str | Path) -> ExpectFile:
    """Read and validate an expected-values file, its keys in normal form.

    A key is a folder path, matched as `instance_key` writes it: `tiny/a/`, `./tiny/a` and
    `tiny//a` are `tiny/a` (written so, the entry matched no folder: the instance failed
    with "no expected values" while its entry was skipped as not given). Two keys naming
    the same folder are bad input, naming both.
    """
    expect = read_toml_model(path, ExpectFile, "an expected-values file (TOML)")
    instances: dict[str, Expected] = {}
    first: dict[str, str] = {}
    problems = []
    for key, exp in expect.instances.items():
        norm = posixpath.normpath(key)
        if norm in first:
            text = Path(path).read_text(encoding="utf-8")  # UTF-8: read above
            problems.append(Problem(str(path), "one entry per instance folder",
                                    row=key_line(text, ("instances", key)),
                                    column=f"instances.{key}",
                                    found=f"'{first[norm]}' and '{key}' both name {norm}"))
        first.setdefault(norm, key)
        instances[norm] = exp
    if problems:
        raise InputError(problems)
    return expect.model_copy(update={"instances": instances})


def instance_folders(paths: Iterable[str | Path]) -> list[Path]:
    """Instance folders named by `paths`, in order.

    A path is an instance folder (with `instance.toml`) or a folder of instance folders
    (taken sorted), so `instances/tiny` names every tiny instance. A folder named twice
    (`instances/tiny instances/tiny/a`) is taken once, where first named: solved twice, it
    was two JUnit test cases of one name and counted twice in "N passed".
    """
    out: list[Path] = []
    for p in map(Path, paths):
        if (p / METADATA_FILE).is_file():
            out.append(p)
        elif p.is_dir() and (found := sorted(c for c in p.iterdir()
                                             if (c / METADATA_FILE).is_file())):
            out.extend(found)
        else:
            raise InputError(Problem(str(p), "an instance folder or a folder of instance "
                                     "folders", found="no instance.toml there"))
    seen: set[Path] = set()
    unique = []
    for folder in out:
        if folder.resolve() not in seen:
            seen.add(folder.resolve())
            unique.append(folder)
    return unique


def judge(name: str, path: str, status: str, objective: float | None, verified: bool,
          gap: float | None, exp: Expected | None, defaults: Defaults,
          checked: bool) -> Case:
    """The verdict on one solved instance against its expectation."""
    case = Case(name=name, path=path, verdict="pass", message="", status=status,
                objective=objective, gap=gap, verified=verified,
                expected=exp.objective if exp else None)
    problems: list[str] = []
    if objective is not None and not verified:
        case.verdict = "error"
        problems.append("the plan failed independent verification")
    if exp is None:
        if checked:
            problems.append("no expected values for this instance")
    else:
        if exp.status is not None and status != exp.status:
            problems.append(f"status {status}, expected {exp.status}")
        if exp.objective is not None:
            if objective is None:
                problems.append(f"no objective, expected {exp.objective:.6f}")
            else:
                rtol = defaults.rtol if exp.rtol is None else exp.rtol
                atol = defaults.atol if exp.atol is None else exp.atol
                tol = max(atol, rtol * abs(exp.objective))
                diff = objective - exp.objective
                if not math.isfinite(diff) or abs(diff) > tol:
                    problems.append(f"objective {objective:.6f} differs from expected "
                                    f"{exp.objective:.6f} by {diff:+.6g} (tolerance {tol:.3g})")
    if problems and case.verdict == "pass":
        case.verdict = "fail"
    case.message = "; ".join(problems)
    return case


def case_options(options: SolveOptions, exp: Expected | None) -> SolveOptions:
    """The options of one case: one precedence per setting.

    The command line (`options`), then the expected file's entry, then the instance's
    `solver` section (a None gap), then the default.
    """
    time_limit = options.time_limit
    if time_limit is None and exp is not None:
        time_limit = exp.time_limit
    gap = options.gap
    if gap is None and exp is not None:
        gap = exp.gap
    return SolveOptions(time_limit=time_limit, gap=gap, threads=options.threads,
                        seed=options.seed)


def instance_key(folder: str | Path, base: str | Path | None) -> str:
    """The key of an instance folder in an expected file kept in folder `base`.

    The folder's path relative to `base` (or to the working directory), with `/`.
    """
    rel = os.path.relpath(Path(folder).resolve(), Path(base or ".").resolve())
    return Path(rel).as_posix()


def run_batch(paths: Iterable[str | Path], expect: ExpectFile | None = None,
              options: SolveOptions | None = None,
              on_case: Callable[[Case], None] | None = None,
              base: str | Path | None = None, strict: bool = False) -> list[Case]:
    """Solve every instance in `paths` and judge it.

    Instances are keyed by folder relative to `base` (the expected file's folder). Listed
    instances not among `paths` are skipped with a note, or fail with `strict`. Ctrl-C or
    SIGTERM during a solve raises `Interrupted` (the command exits 130 or 143).
    """
    options = options or SolveOptions()
    defaults = expect.defaults if expect else Defaults()
    cases: list[Case] = []
    seen: set[str] = set()
    for folder in instance_folders(paths):
        start = time.perf_counter()
        key = instance_key(folder, base)
        seen.add(key)
        exp = expect.instances.get(key) if expect else None
        opts = case_options(options, exp)
        try:
            inst = load_instance(folder)
        except InputError as exc:
            case = Case(name=key, path=str(folder), verdict="error", message=str(exc))
        else:
            try:
                result = solve(inst, opts)
            except Exception as exc:  # one broken instance must not hide the others
                case = Case(name=key, path=str(folder), verdict="error",
                            message=f"{type(exc).__name__}: {exc}")
            else:
                if result.interrupted_by is not None:
                    # Ctrl-C or SIGTERM reached HiGHS: the user stops the batch; judging the
                    # cut-short solve would pass it (or record it) and go on to the next
                    raise Interrupted(result.interrupted_by)
                case = judge(key, str(folder), result.status, result.objective,
                             result.verified, result.gap, exp, defaults, expect is not None)
        case.seconds = time.perf_counter() - start
        case.time_limit, case.gap_limit = opts.time_limit, opts.gap
        cases.append(case)
        if on_case:
            on_case(case)
    if expect:
        for key, exp in expect.instances.items():
            if key not in seen:
                folder = Path(base or ".") / key
                if not (folder / METADATA_FILE).is_file():  # stale or misspelt: never checked
                    case = Case(name=key, path="", verdict="fail", message="listed in the "
                                f"expected values, but {folder} is no instance folder (no "
                                f"{METADATA_FILE})", expected=exp.objective)
                elif strict:
                    case = Case(name=key, path="", verdict="fail", message="listed in the "
                                "expected values but not among the instances solved (--strict)",
                                expected=exp.objective)
                else:
                    case = Case(name=key, path="", verdict="skip", message="listed in the "
                                "expected values, not among the paths given: not checked",
                                expected=exp.objective)
                cases.append(case)
                if on_case:
                    on_case(case)
    return cases


def junit_xml(cases: list[Case], suite: str = "siteopt-batch") -> ET.ElementTree:
    """A JUnit XML report: one testcase per instance, failure/error elements as judged."""
    root = ET.Element("testsuites")
    ts = ET.SubElement(root, "testsuite", {
        "name": suite, "tests": str(len(cases)),
        "failures": str(sum(c.verdict == "fail" for c in cases)),
        "errors": str(sum(c.verdict == "error" for c in cases)),
        "skipped": str(sum(c.verdict == "skip" for c in cases)),
        "time": f"{sum(c.seconds for c in cases):.3f}",
    })
    for c in cases:
        tc = ET.SubElement(ts, "testcase", {"classname": "siteopt.scenarios.batch", "name": c.name,
                                            "file": c.path, "time": f"{c.seconds:.3f}"})
        if c.verdict == "fail":
            ET.SubElement(tc, "failure", {"message": c.message, "type": "regression"}).text = (
                c.message)
        elif c.verdict == "error":
            ET.SubElement(tc, "error", {"message": c.message, "type": "error"}).text = c.message
        elif c.verdict == "skip":
            ET.SubElement(tc, "skipped", {"message": c.message})
        ET.SubElement(tc, "system-out").text = (
            f"status={c.status} objective={c.objective} expected={c.expected} gap={c.gap} "
            f"verified={c.verified}")
    root.set("tests", ts.get("tests", "0"))
    root.set("failures", ts.get("failures", "0"))
    root.set("errors", ts.get("errors", "0"))
    return ET.ElementTree(root)


def write_junit(cases: list[Case], path: str | Path) -> Path:
    """Write the JUnit XML report atomically."""
    path = Path(path)
    tree = junit_xml(cases)
    ET.indent(tree)
    with atomic_file(path, suffix=".xml") as tmp:
        tree.write(tmp, encoding="utf-8", xml_declaration=True)
    return path


def expected_toml(cases: list[Case], base: str | Path | None = None) -> str:
    """An expected-values file recording these results (to start or refresh a baseline).

    Keys are the folders relative to `base`, the folder of the file to be written, so the
    file passes `read_expected` and `run_batch(..., base=base)` as it is. The solve options
    that were given (time limit, gap) are recorded with each result; cases without a result
    (errors, skipped) are listed as comments.
    """
    lines = ["[defaults]", "rtol = 1e-6", "atol = 1e-6", ""]
    for c in cases:
        key = instance_key(c.path, base) if c.path else c.name
        if c.status is None or c.verdict in ("error", "skip"):
            lines.append(f"# {key}: not recorded ({c.verdict}: "
                         f"{' '.join(c.message.split())[:200]})")
            lines.append("")
            continue
        lines.append(f"[instances.{json.dumps(key)}]")
        lines.append(f"status = {json.dumps(c.status)}")
        if c.objective is not None:
            lines.append(f"objective = {float(c.objective)!r}")
        if c.time_limit is not None:
            lines.append(f"time_limit = {float(c.time_limit)!r}")
        if c.gap_limit is not None:
            lines.append(f"gap = {float(c.gap_limit)!r}")
        lines.append('reason = "recorded by siteopt batch --record; say why when it changes"')
        lines.append("")
    return "\n".join(lines)
