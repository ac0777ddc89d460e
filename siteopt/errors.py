"""Errors siteopt reports to its users, and the exit codes of the command line."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes of the `siteopt` command (documented in the README)."""

    OK = 0
    INTERNAL_ERROR = 1
    BAD_INPUT = 2
    INFEASIBLE = 3
    NO_PLAN = 4
    REGRESSION = 5  # batch/sweep: a result differs from its expected value, or failed


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, located as precisely as possible.

    `row` is the line number in the file as an editor shows it (the header is line 1),
    or None when the problem concerns the file or a column as a whole.
    """

    file: str
    expected: str
    row: int | None = None
    column: str | None = None
    found: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", line {self.row}"
        if self.column is not None:
            where += f", column '{self.column}'"
        text = f"{where}: expected {self.expected}"
        if self.found is not None:
            text += f", found {self.found!r}"
        return text


class SiteoptError(Exception):
    """Base of the errors that carry their own exit code."""

    exit_code: ExitCode = ExitCode.INTERNAL_ERROR


class InputError(SiteoptError):
    """The instance (or a command-line value) is malformed; lists every problem found."""

    exit_code = ExitCode.BAD_INPUT

    def __init__(self, problems: list[Problem] | Problem, limit: int = 50):
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        shown = [str(p) for p in self.problems[:limit]]
        if len(self.problems) > limit:
            shown.append(f"... and {len(self.problems) - limit} more")
        noun = "problem" if len(self.problems) == 1 else "problems"
        super().__init__(f"{len(self.problems)} input {noun}:\n  " + "\n  ".join(shown))


def did_you_mean(name: str, choices: object) -> str:
    """` (did you mean 'x'?)` for the closest of `choices` to a mistyped `name`, else ''."""
    import difflib

    options = [str(c) for c in choices]  # type: ignore[attr-defined]
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


class UnverifiedPlanError(SiteoptError):
    """The independent checker rejected the plan a solve returned: a bug, never a result.

    `result` is the rejected `Result` (with its `violations`), for inspection.
    """

    exit_code = ExitCode.INTERNAL_ERROR

    def __init__(self, result: object, violations: list[str], limit: int = 20):
        self.result = result
        self.violations = list(violations)
        shown = self.violations[:limit]
        if len(self.violations) > limit:
            shown.append(f"... and {len(self.violations) - limit} more")
        super().__init__(f"the plan failed independent verification ({len(self.violations)} "
                         "violations):\n  " + "\n  ".join(shown))
