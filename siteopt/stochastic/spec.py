"""The scenario file of a two-stage solve: decision year, scenarios, risk settings.

Format (TOML, documented in `docs/instance-format.md` and by `siteopt schema`)::

    decision_year = 2027        # decisions whose construction starts on or before it are shared
    [risk]                      # optional
    alpha = 0.9                 # CVaR level (0 < alpha < 1)
    weight = 0.5                # lambda: objective (1 - lambda) E[cost] + lambda CVaR_alpha[cost]
    [[scenario]]
    id = "ai-high"
    probability = 0.3
    set = ["demand[class=ai].scale=1.5", "upgrades.lead_months.add=24"]

Every problem names the file, its line, the scenario and the key; a scenario's overrides are
applied to the instance here, so an override that does not fit the instance fails before any
solve.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from siteopt.data.instance import Instance
from siteopt.data.overrides import apply_overrides, parse_assignments
from siteopt.errors import InputError, Problem, did_you_mean
from siteopt.io.tomlfile import read_toml

#: Probabilities must sum to 1 within this tolerance.
PROBABILITY_TOL = 1e-9
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_TOP_KEYS = ("decision_year", "risk", "scenario")
_SCENARIO_KEYS = ("id", "probability", "set", "description")
_RISK_KEYS = ("alpha", "weight")


@dataclass(frozen=True)
class Risk:
    """CVaR settings: objective (1 - weight) E[cost] + weight CVaR_alpha[cost]."""

    alpha: float = 0.95
    weight: float = 0.0

    @property
    def active(self) -> bool:
        """Whether the CVaR term is in the objective."""
        return self.weight > 0.0


@dataclass(frozen=True)
class ScenarioSpec:
    """One scenario: its id, probability and overrides (KEY, VALUE) in order."""

    id: str
    probability: float
    overrides: tuple[tuple[str, str], ...] = ()
    description: str = ""
    #: line of the scenario's `[[scenario]]` header in its file (None: not from a file)
    line: int | None = field(default=None, compare=False)
    #: (override key, line of its "KEY=VALUE" string), to locate an override that does not
    #: fit the instance (checked after parsing, in `scenario_instance`)
    override_lines: tuple[tuple[str, int], ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class ScenarioSet:
    """A validated scenario file."""

    decision_year: int
    scenarios: tuple[ScenarioSpec, ...]
    risk: Risk = field(default_factory=Risk)
    path: str = "scenarios"

    @property
    def probabilities(self) -> list[float]:
        """The scenarios' probabilities, in file order."""
        return [s.probability for s in self.scenarios]

    @property
    def ids(self) -> list[str]:
        """The scenarios' ids, in file order."""
        return [s.id for s in self.scenarios]


def read_scenario_file(path: str | Path) -> dict[str, object]:
    """The raw TOML of a scenario file; a missing or malformed file is an InputError."""
    return _read(Path(path))[1]


def _read(path: Path) -> tuple[str, dict[str, object]]:
    """(text, raw TOML) of a scenario file; a TOML syntax error names its line."""
    if not path.is_file():
        raise InputError(Problem(str(path), "a scenario file (TOML)", found="no such file"))
    return read_toml(path, str(path))


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]*?)\s*\]")
_KEY = re.compile(r"""^\s*(?:"([^"]*)"|'([^']*)'|([A-Za-z0-9_\-]+))\s*[=.]""")


class _Lines:
    """Where the keys of a scenario file are, by line (tomllib keeps no positions).

    Each line is read on its own: a `[risk]` or `[[scenario]]` header opens a block, and
    `key = ...` names a key of the block (top level before any header). A scenario is found
    by its position among the `[[scenario]]` headers, which is its position in the parsed
    list; scenarios written as an inline array get the `scenario` key's line.
    """

    def __init__(self, text: str | None) -> None:
        self.lines = (text or "").splitlines()
        self.blocks: dict[str, dict[str, int]] = {"": {}}
        self.headers: dict[str, int] = {}
        self.scenarios: list[tuple[int, int]] = []  # (header line, last line of its block)
        block = ""
        for number, line in enumerate(self.lines, start=1):
            header = _HEADER.match(line)
            if header is not None:
                name = header.group(2).strip().strip("\"'")
                if header.group(1) == "[[" and name == "scenario":
                    block = f"#{len(self.scenarios) + 1}"
                    self.scenarios.append((number, number))
                else:
                    block = name
                self.headers.setdefault(block, number)
                self.blocks.setdefault(block, {})
                continue
            key = _KEY.match(line)
            if key is not None:
                name = next(g for g in key.groups() if g is not None)
                self.blocks[block].setdefault(name, number)
            if block.startswith("#"):
                start, _ = self.scenarios[-1]
                self.scenarios[-1] = (start, number)

    def top(self, key: str) -> int | None:
        """The line of a top-level key (or of the `[key]` table / first `[[key]]`)."""
        if key == "scenario" and self.scenarios:
            return self.scenarios[0][0]
        return self.blocks[""].get(key, self.headers.get(key))

    def risk(self, key: str | None = None) -> int | None:
        """The line of `risk.key`, else of the `[risk]` header."""
        found = self.blocks.get("risk", {}).get(key or "")
        return found or self.headers.get("risk") or self.blocks[""].get("risk")

    def scenario(self, n: int, key: str | None = None) -> int | None:
        """The line of key `key` of the n-th scenario (1-based), else of its header."""
        if n > len(self.scenarios):
            return self.top("scenario")
        found = self.blocks[f"#{n}"].get(key or "")
        return found or self.scenarios[n - 1][0]

    def item(self, n: int, value: str) -> int | None:
        """The line of the n-th scenario's `set` string `value`, else of its `set` key."""
        if n <= len(self.scenarios):
            start, end = self.scenarios[n - 1]
            after = self.blocks[f"#{n}"].get("set", start)
            for number in range(after, end + 1):
                line = self.lines[number - 1]
                if f'"{value}"' in line or f"'{value}'" in line:
                    return number
        return self.scenario(n, "set")


def parse_scenario_set(raw: dict[str, object], file: str, first_year: int, last_year: int,
                       text: str | None = None) -> ScenarioSet:
    """Validate the raw TOML of a scenario file against a horizon; every problem at once.

    With the file's `text`, each problem also names its line: of the key, else of its
    scenario's `[[scenario]]` header (a missing key), else none (a missing top-level key,
    probabilities that do not sum to 1).
    """
    problems: list[Problem] = []
    lines = _Lines(text)

    def bad(key: str, expected: str, found: object = None, line: int | None = None) -> None:
        problems.append(Problem(file, expected, row=line, column=key,
                                found=None if found is None else str(found)))

    for key in raw:
        if key not in _TOP_KEYS:
            bad(key, "a known key" + did_you_mean(key, _TOP_KEYS) + ": one of "
                + ", ".join(_TOP_KEYS), key, lines.top(key))
    year = raw.get("decision_year")
    if isinstance(year, bool) or not isinstance(year, int):
        bad("decision_year", "a whole year", "missing" if year is None else year,
            lines.top("decision_year"))
        year = first_year
    elif not first_year <= year <= last_year:
        bad("decision_year", f"a year inside the horizon {first_year}..{last_year}", year,
            lines.top("decision_year"))
    risk = _parse_risk(raw.get("risk", {}), bad, lines)
    items = raw.get("scenario")
    if not isinstance(items, list) or not items:
        bad("scenario", "one or more [[scenario]] tables", "none" if items is None else items,
            lines.top("scenario"))
        items = []
    scenarios: list[ScenarioSpec] = []
    seen: set[str] = set()
    for n, item in enumerate(items, start=1):
        spec = _parse_scenario(item, n, seen, bad, lines)
        if spec is not None:
            scenarios.append(spec)
    total = math.fsum(s.probability for s in scenarios)
    if scenarios and len(scenarios) == len(items) and abs(total - 1.0) > PROBABILITY_TOL:
        bad("scenario.probability", "probabilities summing to 1 (within 1e-9)", f"{total!r}")
    if problems:
        raise InputError(problems)
    return ScenarioSet(decision_year=int(year), scenarios=tuple(scenarios), risk=risk, path=file)


def _parse_risk(raw: object, bad, lines: _Lines) -> Risk:  # type: ignore[no-untyped-def]
    if not isinstance(raw, dict):
        bad("risk", "a [risk] table with alpha and weight", raw, lines.risk())
        return Risk()
    for key in raw:
        if key not in _RISK_KEYS:
            bad(f"risk.{key}", "a known key" + did_you_mean(key, _RISK_KEYS) + ": alpha, weight",
                key, lines.risk(key))
    alpha, weight = raw.get("alpha", Risk.alpha), raw.get("weight", Risk.weight)
    ok = True
    # alpha 0 makes CVaR the expectation, so a weight on it would change nothing: the
    # level must leave a tail (0 < alpha < 1), as in most tools
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
        bad("risk.alpha", "a CVaR level with 0 < alpha < 1 (alpha 0 is the expectation: "
            "set weight = 0 for it)", alpha, lines.risk("alpha"))
        ok = False
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 <= weight <= 1:
        bad("risk.weight", "a CVaR weight with 0 <= weight <= 1", weight,
            lines.risk("weight"))
        ok = False
    return Risk(float(alpha), float(weight)) if ok else Risk()


def _parse_scenario(item: object, n: int, seen: set[str], bad,  # type: ignore[no-untyped-def]
                    lines: _Lines) -> ScenarioSpec | None:
    where = f"scenario #{n}"
    if not isinstance(item, dict):
        bad(where, "a [[scenario]] table", item, lines.scenario(n))
        return None
    sid = item.get("id")
    if isinstance(sid, str) and sid:
        where = f"scenario '{sid}'"
    ok = True
    for key in item:
        if key not in _SCENARIO_KEYS:
            bad(f"{where}.{key}", "a known key" + did_you_mean(key, _SCENARIO_KEYS) + ": "
                + ", ".join(_SCENARIO_KEYS), key, lines.scenario(n, key))
            ok = False
    if not isinstance(sid, str) or not _ID.match(sid):
        bad(f"{where}.id", "an id of letters, digits, '_', '-' or '.' (it names a folder)",
            "missing" if sid is None else sid, lines.scenario(n, "id"))
        ok = False
    elif sid.casefold() in seen:  # ids name folders, which Windows and macOS fold by case
        bad(f"{where}.id", "an id no other scenario has (ignoring case: it names a folder)",
            sid, lines.scenario(n, "id"))
        ok = False
    else:
        seen.add(sid.casefold())
    p = item.get("probability")
    if isinstance(p, bool) or not isinstance(p, int | float) or not (0 < p <= 1):
        bad(f"{where}.probability", "a probability with 0 < p <= 1",
            "missing" if p is None else p, lines.scenario(n, "probability"))
        ok = False
    sets = item.get("set", [])
    if not isinstance(sets, list) or not all(isinstance(s, str) for s in sets):
        bad(f"{where}.set", "a list of \"KEY=VALUE\" overrides", sets,
            lines.scenario(n, "set"))
        ok = False
        sets = []
    try:
        pairs = list(parse_assignments(sets).items())
    except InputError as exc:
        for p0 in exc.problems:
            bad(f"{where}.set", p0.expected, p0.found, lines.item(n, str(p0.found)))
        return None
    if len(pairs) < len(sets):  # a key twice: the later value would silently replace one
        keys = _keys(sets)
        again = next(text for i, (key, text) in enumerate(zip(keys, sets, strict=True))
                     if key in keys[:i])
        bad(f"{where}.set", "each override key once (a later value would replace an "
            "earlier one)", again, lines.item(n, again))
        return None
    description = item.get("description", "")
    if not isinstance(description, str):
        bad(f"{where}.description", "text", description, lines.scenario(n, "description"))
        ok = False
    if not ok:
        return None
    at = {key: lines.item(n, text) for key, text in zip(_keys(sets), sets, strict=True)}
    return ScenarioSpec(id=sid, probability=float(p), overrides=tuple(pairs),  # type: ignore[arg-type]
                        description=str(description), line=lines.scenario(n),
                        override_lines=tuple((k, v) for k, v in at.items() if v is not None))


def _keys(sets: list[str]) -> list[str]:
    """The override key of each "KEY=VALUE" string (all valid), as `parse_assignments` has it."""
    return [next(iter(parse_assignments([text]))) for text in sets]


def load_scenario_set(path: str | Path, inst: Instance) -> ScenarioSet:
    """Read and validate the scenario file at `path` for `inst` (overrides included)."""
    text, raw = _read(Path(path))
    # overrides cannot change the horizon (`horizon` is not in OVERRIDABLE_SECTIONS), so the
    # base's horizon is every scenario's: one check of decision_year covers them all
    h = inst.meta.horizon
    sset = parse_scenario_set(raw, str(path), h.first_year, h.last_year, text)
    scenario_instances(inst, sset)  # every override must fit the instance: fail before solving
    return sset


def scenario_instance(inst: Instance, spec: ScenarioSpec, file: str = "scenarios") -> Instance:
    """`inst` with the scenario's overrides applied; a bad override names file and scenario.

    And its line: of the override's string, else of the scenario (if read from a file).
    """
    try:
        return apply_overrides(inst, dict(spec.overrides))
    except InputError as exc:
        at = dict(spec.override_lines)
        raise InputError([Problem(file, p.expected, row=at.get(p.column or "", spec.line),
                                  column=f"scenario '{spec.id}'.set " + (p.column or ""),
                                  found=p.found)
                          for p in exc.problems]) from exc


def scenario_instances(inst: Instance, sset: ScenarioSet) -> list[Instance]:
    """One instance per scenario, in file order; every bad override is reported."""
    out: list[Instance] = []
    problems: list[Problem] = []
    for spec in sset.scenarios:
        try:
            out.append(scenario_instance(inst, spec, sset.path))
        except InputError as exc:
            problems += exc.problems
    if problems:
        raise InputError(problems)
    return out
