"""Sensitivity sweeps: many override scenarios of one instance, solved in parallel on Dask.

A sweep spec (TOML) names a base instance and its scenarios::

    instance = "../instances/vietnam-2026"   # relative to the spec; omitted: the bundled one
    [solve]                                  # per-scenario solve options
    time_limit = 20
    gap = 0.005
    [base]                                   # overrides applied to every scenario
    "economics.discount_rate" = 0.08
    [grid]                                   # full factorial over these values
    "headroom[zone=hanoi_west].scale" = [0.5, 1.0, 1.5]
    "budgets[sponsor=,year=].scale" = [0.8, 1.0]
    [[scenarios]]                            # explicit scenarios, one table each
    "demand.scale" = 1.3
    [sample]                                 # seeded random sample
    n = 20
    seed = 1
    uniform = { "demand.scale" = [0.8, 1.3] }
    choice = { "phases[site=shtp,phase=p4].cooling" = ["air", "dlc"] }

The scenarios are the `[[scenarios]]` entries, then the grid points, then the samples, each with the
base overrides first; duplicates are solved once. Override keys follow `siteopt.data.overrides`.

Every scenario has a stable id (a hash of the instance fingerprint, its overrides, the
solve options, siteopt's version and the formulation's version) and its own result folder
`OUT/scenarios/<id>/`, written atomically with a `scenario.json` (which records the same
versions) beside the usual result files. A sweep that is started again skips the scenarios
whose folder exists and was written by the same versions, so killing a sweep loses at most
the scenarios in flight and never redoes a finished one, and results of another version are
never mixed in. The tidy table `OUT/results.parquet` (one row per scenario) is
rebuilt from the folders.

Scenarios run in this process, one after another (`workers=0`, the default of the API, as
of every other API function), on a local Dask cluster of `workers` processes (the command
line's default is 2), or on an existing scheduler given by address (its workers need the
same siteopt build, checked on connecting; they receive the instance from the client and
return the results, so no shared file system is needed; README "Scaling out on a Dask
scheduler").
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import math
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from siteopt.data.instance import Instance
from siteopt.data.load import load_instance
from siteopt.data.overrides import apply_overrides, parse_key
from siteopt.errors import InputError, Problem
from siteopt.io.tomlfile import key_line, read_toml_model
from siteopt.io.write import FolderKind, atomic_file, check_replaceable, write_result
from siteopt.model import FORMULATION_VERSION
from siteopt.solver.cluster import dask_client, share
from siteopt.solver.highs import SolveOptions
from siteopt.solver.interrupt import Interrupted
from siteopt.solver.pipeline import Result, solve
from siteopt.version import __version__

Value = str | int | float | bool
Overrides = dict[str, Value]

#: File names inside a sweep's output folder.
SCENARIO_DIR = "scenarios"
TABLE_FILE = "results.parquet"
SCENARIO_FILE = "scenario"  # scenario.json in each scenario folder
#: A sweep's output folder: it holds the table from the sweep's first moment on (written
#: before any scenario is solved), and a sweep started again resumes it.
SWEEP_FOLDER = FolderKind(TABLE_FILE, "a siteopt sweep folder", verb="resume",
                          risk="the sweep would add its files to the folder's own")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SolveSpec(_Strict):
    """Solve options of every scenario (see `siteopt solve`)."""

    time_limit: float | None = Field(None, gt=0, description="Seconds per scenario.")
    gap: float | None = Field(None, ge=0, le=1, description="Relative gap to stop at; omitted: the "
                              "instance's solver.gap (1e-4 unless set).")
    threads: int = Field(1, ge=0, le=256, description="HiGHS threads per scenario.")
    seed: int = Field(0, ge=0, description="HiGHS random seed.")


class SampleSpec(_Strict):
    """A seeded random sample: `n` scenarios, each key drawn independently."""

    n: int = Field(ge=1, le=100_000)
    seed: int = 0
    uniform: dict[str, tuple[float, float]] = Field(default_factory=dict)
    choice: dict[str, list[Value]] = Field(default_factory=dict)


class SweepSpec(_Strict):
    """The contents of a sweep spec file."""

    instance: str | None = None
    solve: SolveSpec = SolveSpec()
    base: dict[str, Value] = Field(default_factory=dict)
    grid: dict[str, list[Value]] = Field(default_factory=dict)
    scenarios: list[dict[str, Value]] = Field(default_factory=list)
    sample: SampleSpec | None = None


@dataclass(frozen=True)
class Scenario:
    """One scenario of a sweep: its stable id, position and overrides."""

    id: str
    index: int
    overrides: Overrides


@dataclass
class Sweep:
    """A loaded sweep: the base instance, solve options and scenarios."""

    instance: Instance
    options: SolveOptions
    scenarios: list[Scenario]
    spec_path: Path | None = None


@dataclass
class SweepReport:
    """What a sweep run did."""

    out: Path
    table: pd.DataFrame
    skipped: list[str] = field(default_factory=list)
    solved: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """No scenario raised an error and every plan found was verified."""
        if self.errors:
            return False
        plans = self.table[self.table["has_plan"]] if len(self.table) else self.table
        return bool(plans["verified"].all()) if len(plans) else True


def read_spec(path: str | Path) -> SweepSpec:
    """Read and validate a sweep spec; problems name the spec file, the line and the key.

    Beyond the types (`SweepSpec`), `check_spec`'s rules: a spec that breaks one is bad
    input before anything is solved or written.
    """
    spec = read_toml_model(path, SweepSpec, "a sweep spec file (TOML)")
    check_spec(spec, str(path), Path(path).read_text(encoding="utf-8"))  # UTF-8: read above
    return spec


def check_spec(spec: SweepSpec, file: str = "sweep spec", text: str | None = None) -> None:
    """The rules of a spec its types cannot say; InputError listing every break of them.

    Every override key (in `base`, `grid`, `[[scenarios]]` and `sample`) is one of
    `siteopt.data.overrides`; a grid key and a `choice` key list at least one value (an
    empty list left the grid, or the sample, without a point, and the sweep silently solved
    the base scenario alone); a `uniform` range is `[low, high]` with low <= high; a
    `[sample]` draws some key (without one its `n` scenarios are all the base, solved once).
    Problems name `file`, the key's line in `text` and the key, as the type errors do.
    """
    problems: list[Problem] = []

    def bad(loc: tuple[str | int, ...], expected: str, found: str | None) -> None:
        problems.append(Problem(file, expected, row=key_line(text, loc),
                                column=".".join(str(x) for x in loc), found=found))

    keys: list[tuple[str | int, ...]] = [("base", k) for k in spec.base]
    keys += [("grid", k) for k in spec.grid]
    keys += [("scenarios", i, k) for i, item in enumerate(spec.scenarios) for k in item]
    if spec.sample is not None:
        keys += [("sample", "uniform", k) for k in spec.sample.uniform]
        keys += [("sample", "choice", k) for k in spec.sample.choice]
    for loc in keys:
        try:
            parse_key(str(loc[-1]))
        except InputError as exc:
            for p in exc.problems:
                bad(loc, f"an override key ({p.expected})", p.found)
    for key, values in spec.grid.items():
        if not values:
            bad(("grid", key), "a list of at least one value (an empty one leaves the grid "
                "without a point)", "[]")
    if spec.sample is not None:
        for key, (low, high) in spec.sample.uniform.items():
            if not low <= high:
                bad(("sample", "uniform", key), "[low, high] with low <= high",
                    f"[{low:g}, {high:g}]")
        for key, options in spec.sample.choice.items():
            if not options:
                bad(("sample", "choice", key), "a list of at least one value to choose from",
                    "[]")
        if not spec.sample.uniform and not spec.sample.choice:
            bad(("sample",), "a key to draw in sample.uniform or sample.choice (without one "
                "every sample is the base scenario)", f"n = {spec.sample.n} and no key")
    if problems:
        raise InputError(problems)


def _round(x: float) -> float:
    """Sampled values with 6 significant digits: readable, and stable through text."""
    return float(f"{x:.6g}")


def expand(spec: SweepSpec) -> list[Overrides]:
    """The scenarios' overrides in order: explicit, grid, sample; base first in each."""
    out: list[Overrides] = [{**spec.base, **item} for item in spec.scenarios]
    if spec.grid:
        keys = list(spec.grid)
        for values in itertools.product(*(spec.grid[k] for k in keys)):
            out.append({**spec.base, **dict(zip(keys, values, strict=True))})
    if spec.sample is not None:
        rng = np.random.default_rng(spec.sample.seed)
        for _ in range(spec.sample.n):
            item: Overrides = {}
            for key, (low, high) in spec.sample.uniform.items():
                item[key] = _round(float(rng.uniform(low, high)))
            for key, options in spec.sample.choice.items():
                item[key] = options[int(rng.integers(len(options)))]
            out.append({**spec.base, **item})
    if not out:
        out.append(dict(spec.base))
    return out


def versions() -> dict[str, object]:
    """What wrote a scenario: siteopt's version and the formulation's."""
    return {"siteopt": __version__, "formulation": FORMULATION_VERSION}


def scenario_id(fingerprint: str, overrides: Overrides, options: SolveOptions) -> str:
    """A stable id of a scenario and of what solves it.

    The same instance, overrides (in order), options and versions of siteopt and of the
    formulation give the same id.
    """
    payload = json.dumps({"instance": fingerprint, "overrides": list(overrides.items()),
                          "options": _options_dict(options), "versions": versions()},
                         sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def _options_dict(options: SolveOptions) -> dict[str, object]:
    return {"time_limit": options.time_limit, "gap": options.gap, "threads": options.threads,
            "seed": options.seed}


def load_sweep(spec: SweepSpec | str | Path, instance: Instance | None = None) -> Sweep:
    """Load the base instance and check every scenario's overrides before anything runs."""
    spec_path = None
    if not isinstance(spec, SweepSpec):
        spec_path = Path(spec)
        spec = read_spec(spec_path)
    else:
        check_spec(spec)
    if instance is None:
        folder = None
        if spec.instance is not None:
            folder = Path(spec.instance)
            if not folder.is_absolute() and spec_path is not None:
                folder = spec_path.resolve().parent / folder
        instance = load_instance(folder)
    s = spec.solve
    options = SolveOptions(time_limit=s.time_limit, gap=s.gap, threads=s.threads, seed=s.seed)
    scenarios: list[Scenario] = []
    seen: set[str] = set()
    for position, overrides in enumerate(expand(spec)):
        sid = scenario_id(instance.fingerprint, overrides, options)
        if sid in seen:
            continue
        seen.add(sid)
        try:
            apply_overrides(instance, overrides)
        except InputError as exc:
            file = str(spec_path or "sweep spec")
            text = spec_path.read_text(encoding="utf-8") if spec_path is not None else None
            raise InputError([_scenario_problem(spec, position, len(scenarios), overrides, p,
                                                file, text) for p in exc.problems]) from exc
        scenarios.append(Scenario(id=sid, index=len(scenarios), overrides=overrides))
    return Sweep(instance=instance, options=options, scenarios=scenarios, spec_path=spec_path)


def _scenario_problem(spec: SweepSpec, position: int, index: int, overrides: Overrides,
                      problem: Problem, file: str, text: str | None) -> Problem:
    """A problem of a scenario's overrides, on the spec line and key that set the value.

    `position` is the scenario's place in `expand(spec)`, which tells the section its value
    came from; a problem naming no single override key keeps its own location, after the
    scenario's `index`.
    """
    key = problem.column
    if key not in overrides:
        return Problem(file, f"valid overrides in scenario {index}: {problem}")
    n_grid = math.prod(len(v) for v in spec.grid.values()) if spec.grid else 0
    loc: tuple[str | int, ...] = ("base", key)
    if position < len(spec.scenarios) and key in spec.scenarios[position]:
        loc = ("scenarios", position, key)
    elif len(spec.scenarios) <= position < len(spec.scenarios) + n_grid and key in spec.grid:
        loc = ("grid", key)
    elif position >= len(spec.scenarios) + n_grid and spec.sample is not None:
        for part in ("uniform", "choice"):
            if key in getattr(spec.sample, part):
                loc = ("sample", part, key)
    return Problem(file, problem.expected, row=key_line(text, loc),
                   column=".".join(str(x) for x in loc), found=problem.found)


def solve_scenario(instance: Instance, overrides: Overrides, options: SolveOptions) -> Result:
    """Solve one scenario (runs on a Dask worker; top-level so that it pickles)."""
    return solve(apply_overrides(instance, overrides), options)


def scenario_folder(out: Path, sid: str) -> Path:
    """The result folder of scenario `sid`."""
    return Path(out) / SCENARIO_DIR / sid


def is_done(out: Path, sid: str) -> bool:
    """Whether scenario `sid` has a complete result folder written by these versions.

    Folders appear atomically; one written by another version of siteopt or of the
    formulation is solved again, never mixed with this version's results.
    """
    info = read_json(scenario_folder(out, sid) / f"{SCENARIO_FILE}.json")
    return info is not None and info.get("versions") == versions()


def read_json(path: Path) -> dict[str, object] | None:
    """The JSON object in `path` (a scenario folder's record), None if absent or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def has_verified_plan(out: Path, sid: str) -> bool:
    """Whether finished scenario `sid`'s folder holds a plan that passed verification.

    A resumed sweep counts a skipped scenario as done only then, as it counts one solved
    now (`Result.has_plan and Result.verified`): a plan that failed verification still
    writes its schedule, and exits the sweep with 5 on every run.
    """
    folder = scenario_folder(out, sid)
    summary = read_json(folder / "summary.json")
    return ((folder / "schedule.csv").is_file() and summary is not None
            and summary.get("verified") is True)


def write_scenario(out: Path, scenario: Scenario, result: Result) -> Path:
    """Write the scenario's result folder atomically, with its `scenario.json`."""
    info = {"id": scenario.id, "index": scenario.index, "overrides": scenario.overrides,
            "options": _options_dict(result.options), "versions": versions()}
    return write_result(result, scenario_folder(out, scenario.id),
                        extra_json={SCENARIO_FILE: info})


# ---- the tidy table ---------------------------------------------------------------------

def scenario_row(folder: Path) -> dict[str, object]:
    """One row of the tidy table from a finished scenario folder.

    Columns: scenario, index, one column per override key, status, objective, bound, gap,
    verified, timings, sites_opened, `open_year.<site>`, `first_year.<site>.<phase>`,
    `mw.<site>.<year>` (IT MW online, all coolings), `mw_cooling.<cooling>` (IT MW online in
    the last year by cooling), `cooling.<site>.<phase>`, unserved MW-years and peak MW.
    """
    info = json.loads((folder / f"{SCENARIO_FILE}.json").read_text(encoding="utf-8"))
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    row: dict[str, object] = {"scenario": info["id"], "index": info["index"]}
    row.update(info["overrides"])
    timings = summary.get("timings_seconds") or {}
    row.update({
        "status": summary["status"], "has_plan": (folder / "schedule.csv").is_file(),
        "objective": summary["objective"], "bound": summary["bound"], "gap": summary["gap"],
        "verified": summary["verified"], "solve_seconds": summary["solve_seconds"],
        "total_seconds": timings.get("total", summary["solve_seconds"]),
        "unserved_mw_years": summary.get("unserved_mw_years", 0.0),
    })
    if not row["has_plan"]:
        return row
    sites = pd.read_csv(folder / "sites.csv")
    schedule = pd.read_csv(folder / "schedule.csv")
    capacity = pd.read_csv(folder / "capacity.csv")
    unserved = pd.read_csv(folder / "unserved.csv")
    opened = sites[sites["open_year"].notna()]
    row["sites_opened"] = "|".join(opened["site"].astype(str))
    row["n_sites_opened"] = len(opened)
    row["new_sites_opened"] = "|".join(opened.loc[~opened["existing"].astype(bool), "site"]
                                       .astype(str))
    for site, year in zip(sites["site"], sites["open_year"], strict=True):
        row[f"open_year.{site}"] = None if pd.isna(year) else int(year)
    for r in schedule.itertuples(index=False):
        row[f"first_year.{r.site}.{r.phase}"] = int(r.online_year)
        row[f"cooling.{r.site}.{r.phase}"] = str(r.cooling)
    mw = capacity.groupby(["site", "year"])["capacity_mw"].sum()
    for (site, year), value in mw.items():
        row[f"mw.{site}.{year}"] = float(value)
    if len(capacity):
        last = capacity[capacity["year"] == capacity["year"].max()]
        for cooling, value in last.groupby("cooling")["capacity_mw"].sum().items():
            row[f"mw_cooling.{cooling}"] = float(value)
    row["unserved_peak_mw"] = (float(unserved.groupby("year")["unserved_mw"].sum().max())
                               if len(unserved) else 0.0)
    return row


def build_table(out: Path, scenarios: list[Scenario]) -> pd.DataFrame:
    """The tidy table of the finished scenarios among `scenarios`, in scenario order.

    `index` is the scenario's position in this sweep, not the one its folder recorded: a
    folder is reused by any spec with the same scenario (the id does not depend on the
    position), so an edited spec would otherwise show stale, repeated indexes.
    """
    rows = [{**scenario_row(scenario_folder(out, s.id)), "index": s.index}
            for s in scenarios if is_done(out, s.id)]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=["scenario", "index", "status", "objective"])
    wide_prefixes = ("open_year.", "first_year.", "cooling.", "mw.", "mw_cooling.")
    fixed = [c for c in frame.columns if not c.startswith(wide_prefixes)]
    wide = sorted(c for c in frame.columns if c not in fixed)
    frame = frame[fixed + wide]
    for col in frame.columns:
        if col.startswith(("first_year.", "open_year.")):
            frame[col] = frame[col].astype("Int64")
        elif col.startswith(("mw.", "mw_cooling.")):
            frame[col] = frame[col].astype(float).fillna(0.0)
        elif frame[col].dtype == object:
            values = frame[col].dropna()
            if len(values) and not all(isinstance(v, str) for v in values):
                numeric = all(isinstance(v, int | float) and not isinstance(v, bool)
                              for v in values)
                frame[col] = frame[col].astype(float) if numeric else frame[col].map(
                    lambda v: None if v is None or (isinstance(v, float) and np.isnan(v))
                    else str(v))
    return frame.sort_values("index").reset_index(drop=True)


def write_table(out: Path, table: pd.DataFrame) -> Path:
    """Write the tidy table as Parquet, atomically."""
    path = Path(out) / TABLE_FILE
    with atomic_file(path, suffix=".parquet") as tmp:
        table.to_parquet(tmp, index=False)
    return path


def read_table(out: str | Path) -> pd.DataFrame:
    """The tidy table of a sweep's output folder."""
    return pd.read_parquet(Path(out) / TABLE_FILE)


# ---- running ----------------------------------------------------------------------------

Listener = Callable[[str, Scenario, Result | None, str | None], None]


@contextlib.contextmanager
def _term_as_interrupt() -> Iterator[None]:
    """SIGTERM stops the sweep like Ctrl-C: the cluster is shut down, finished work is kept.

    It raises `Interrupted(SIGTERM)`, a KeyboardInterrupt that keeps the signal, so that the
    command line exits with 143 as documented (a bare KeyboardInterrupt would say SIGINT, 130).
    """
    def handler(signum: int, frame: object) -> None:
        raise Interrupted(signum)

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_sweep(sweep: Sweep, out: str | Path, *, workers: int | None = 0,
              scheduler: str | None = None, listener: Listener | None = None) -> SweepReport:
    """Solve every unfinished scenario of `sweep`, write its folder, then the tidy table.

    `listener(event, scenario, result, error)` is told of each scenario: event "skipped"
    (already finished), "done" (folder written) or "error" (the task raised; nothing is
    written, so a later run retries it). Ctrl-C or SIGTERM stops the sweep with
    `Interrupted` (which keeps the signal): finished scenarios and the table are kept, the
    scenarios in flight are not written.
    """
    out = Path(out)
    check_replaceable(out, SWEEP_FOLDER)  # never into an instance or any other folder
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    report = SweepReport(out=out, table=pd.DataFrame())
    todo = []
    for s in sweep.scenarios:
        if is_done(out, s.id):
            report.skipped.append(s.id)
            if listener:
                listener("skipped", s, None, None)
        else:
            todo.append(s)
    write_table(out, build_table(out, sweep.scenarios))

    def finish(s: Scenario, result: Result | None, error: str | None) -> None:
        if result is not None:
            write_scenario(out, s, result)
            report.solved.append(s.id)
        else:
            report.errors[s.id] = error or "unknown error"
        if listener:
            listener("done" if result is not None else "error", s, result, error)

    with _term_as_interrupt():
        try:
            if todo and workers == 0 and scheduler is None:
                for s in todo:
                    try:
                        result = solve_scenario(sweep.instance, s.overrides, sweep.options)
                    except Exception as exc:  # a failed scenario must not stop the sweep
                        finish(s, None, f"{type(exc).__name__}: {exc}")
                    else:
                        if result.interrupted_by is not None:
                            # Ctrl-C or SIGTERM reached HiGHS (its handlers were in place):
                            # a stop of the sweep, and the scenario is not finished, so it
                            # is not written (a re-run solves it) nor the next one started
                            raise Interrupted(result.interrupted_by)
                        finish(s, result, None)
            elif todo:
                _run_dask(sweep, todo, workers, scheduler, finish)
        finally:
            report.table = build_table(out, sweep.scenarios)
            write_table(out, report.table)
            report.seconds = time.perf_counter() - start
    return report


def _run_dask(sweep: Sweep, todo: list[Scenario], workers: int | None, scheduler: str | None,
              finish: Callable[[Scenario, Result | None, str | None], None]) -> None:
    from distributed import as_completed

    with dask_client(min(workers or 1, len(todo)), scheduler) as client:
        base = share(client, sweep.instance)
        futures = [client.submit(solve_scenario, base, s.overrides,  # type: ignore[attr-defined]
                                 sweep.options, key=f"scenario-{s.id}", pure=False)
                   for s in todo]
        by_key = {fut.key: s for fut, s in zip(futures, todo, strict=True)}
        for fut in as_completed(futures):
            s = by_key[fut.key]
            try:  # whatever became of the task (raised, worker lost, cancelled): its error
                result = fut.result()
            except Exception as exc:
                finish(s, None, f"{type(exc).__name__}: {exc}")
            else:
                finish(s, result, None)
            fut.release()


def run_scenarios(out: str | Path, *, instance: Instance | str | Path | None = None,
                  grid: dict[str, list[Value]] | None = None,
                  scenarios: list[dict[str, Value]] | None = None,
                  base: dict[str, Value] | None = None, time_limit: float | None = None,
                  gap: float | None = None, workers: int | None = 0,
                  scheduler: str | None = None) -> pd.DataFrame:
    """Run a sweep given in code (as a spec file would give it) and return its tidy table.

    For notebooks: `instance` is an Instance, a folder, or None for the bundled one; results
    go to `out` and a second call with the same arguments only reads them back. `workers=0`
    (default) solves in this process; N > 0 on a local Dask cluster of N processes, which
    import the calling script (guard a script's calls with `if __name__ == "__main__":`).
    """
    spec = SweepSpec(solve=SolveSpec(time_limit=time_limit, gap=gap), base=base or {},
                     grid=grid or {}, scenarios=scenarios or [])
    if not isinstance(instance, Instance):
        instance = load_instance(instance)
    sweep = load_sweep(spec, instance=instance)
    return run_sweep(sweep, out, workers=workers, scheduler=scheduler).table
