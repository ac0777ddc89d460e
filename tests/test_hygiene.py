"""The tests themselves: property tests are reproducible, outcomes do not hang on timing."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
#: Waiting for a subprocess to reach a state (not a timed outcome): the killed-sweep test.
MAY_POLL = {"test_sweep.py"}


def _settings_objects(tree: ast.Module) -> dict[str, ast.Call]:
    """Module-level `NAME = settings(...)` assignments."""
    out = {}
    for node in tree.body:
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                and getattr(node.value.func, "id", None) == "settings"):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    out[target.id] = node.value
    return out


def _derandomized(call: ast.Call, named: dict[str, ast.Call]) -> bool:
    for kw in call.keywords:
        if kw.arg == "derandomize" and isinstance(kw.value, ast.Constant):
            return bool(kw.value.value)
    return any(isinstance(a, ast.Name) and a.id in named and _derandomized(named[a.id], named)
               for a in call.args)


def test_every_property_test_is_derandomized():
    loose = []
    for path in sorted(TESTS.glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        named = _settings_objects(tree)
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef):
                continue
            decorators = fn.decorator_list
            if not any(getattr(getattr(d, "func", None), "id", None) == "given"
                       for d in decorators):
                continue
            ok = any((isinstance(d, ast.Call) and getattr(d.func, "id", None) == "settings"
                      and _derandomized(d, named))
                     or (isinstance(d, ast.Name) and d.id in named
                         and _derandomized(named[d.id], named)) for d in decorators)
            if not ok:
                loose.append(f"{path.name}::{fn.name}")
    assert not loose, f"hypothesis tests without derandomize=True: {loose}"


def test_no_test_sleeps_or_times_its_outcome():
    found = []
    for path in sorted(TESTS.glob("test_*.py")):
        if path.name in MAY_POLL or path.name == "test_hygiene.py":
            continue
        text = path.read_text(encoding="utf-8")
        for word in ("time.sleep", "perf_counter", "time.monotonic", "time.time("):
            if word in text:
                found.append(f"{path.name}: {word}")
    assert not found, found
