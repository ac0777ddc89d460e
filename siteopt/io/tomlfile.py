"""Reading a TOML file into a pydantic model, with problems located like CSV cells.

Each problem names the file, the line and the dotted key, and says what was expected.
"""

from __future__ import annotations

import re
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from siteopt.errors import InputError, Problem, did_you_mean
from siteopt.io.text import read_utf8

M = TypeVar("M", bound=BaseModel)


def read_toml_model(path: str | Path, model: type[M], what: str) -> M:
    """`path` parsed as TOML and validated as `model`; `what` names the file kind in errors.

    Every validation problem is reported at once, with its line and dotted key.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(Problem(str(path), what, found="no such file"))
    text, raw = read_toml(path, str(path))
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise InputError(validation_problems(exc, model, str(path), text)) from exc


def read_toml(path: Path, file: str) -> tuple[str, dict[str, Any]]:
    """(text, parsed TOML) of `path`, named `file` in problems.

    A byte that is not UTF-8, or a TOML syntax error, is an InputError on its line.
    """
    text = read_utf8(path, file)
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(toml_syntax_problem(file, exc)) from exc


_AT_LINE = re.compile(r"\(at line (\d+), column (\d+)\)")


def toml_syntax_problem(file: str, exc: tomllib.TOMLDecodeError) -> Problem:
    """A TOML syntax error as an input problem on its line (tomllib names it in the message).

    tomllib's message ends in "(at line L, column C)" (or "(at end of document)"); the line
    becomes the problem's line, the message with the column is what was found.
    """
    message = str(exc)
    at = _AT_LINE.search(message)
    return Problem(file, "valid TOML", row=int(at.group(1)) if at else None, found=message)


def validation_problems(exc: ValidationError, model: type[BaseModel], file: str,
                        text: str | None = None, column: str | None = None) -> list[Problem]:
    """Problems of a failed validation of `model`, one per error.

    Each names `file`, the line of the key in `text` (if given; tomllib keeps no positions,
    so the text is searched), the dotted key (or `column`), what was expected (type, range,
    allowed values, "did you mean" for a misspelt key) and what was found.
    """
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        key = ".".join(str(x) for x in loc)
        owner, info = _field(model, loc)
        kind = err["type"]
        found: str | None = None if kind == "missing" else _show(err.get("input"))
        if kind == "extra_forbidden":
            name = str(loc[-1])
            allowed = list(owner.model_fields) if owner is not None else []
            expected = (f"a known key{did_you_mean(name, allowed)}: one of "
                        + ", ".join(allowed)) if allowed else "no such key"
            found = name
        elif kind == "missing":
            expected = f"a value for the required key '{key}'"
            if info is not None and info.description:
                expected += f" ({info.description})"
        elif kind == "value_error" and len(loc) == 1:  # a section's own rule (its validator)
            expected = str(err["msg"]).removeprefix("Value error, ")
        elif info is not None:
            expected = describe_field(info)
        else:
            expected = err["msg"]
        row = key_line(text, loc) if text is not None else None
        problems.append(Problem(file, expected, row=row, column=column or key, found=found))
    return problems


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _field(model: type[BaseModel], loc: tuple[Any, ...]) -> tuple[Any, Any]:
    """(the model owning the last key of `loc`, that key's FieldInfo or None)."""
    owner: Any = model
    info = None
    names = [(i, part) for i, part in enumerate(loc) if not isinstance(part, int)]
    skip = False
    for n, (_, part) in enumerate(names):
        if skip:  # a key of a dict of models (e.g. an instance in an expected file)
            skip = False
            continue
        if not (isinstance(owner, type) and issubclass(owner, BaseModel)):
            return None, None
        info = owner.model_fields.get(str(part))
        if info is None or n == len(names) - 1:
            return owner, info
        nested = _model_in(info.annotation)
        if nested is None:
            nested = _model_in_container(info.annotation)
        skip = typing.get_origin(info.annotation) is dict  # e.g. [resilience.CLASS]
        owner = nested
    return owner, info


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def _model_in_container(annotation: Any) -> Any:
    for arg in typing.get_args(annotation):
        found = _model_in(arg) or _model_in_container(arg)
        if found is not None:
            return found
    return None


def describe_field(info: Any) -> str:
    """What a setting accepts, in the words of the CSV cell messages."""
    annotation = info.annotation
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    optional = type(None) in typing.get_args(annotation)
    if typing.get_origin(annotation) is typing.Literal:
        text = "one of " + ", ".join(repr(a) for a in typing.get_args(annotation))
    else:
        base = args[0] if (typing.get_origin(annotation) in (typing.Union, types.UnionType)
                           and len(args) == 1) else annotation
        text = {bool: "true or false", int: "a whole number", float: "a number",
                str: "a text"}.get(base, f"a value of type {getattr(base, '__name__', base)}")
    bounds = []
    for meta in info.metadata:
        for attr, sign in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            value = getattr(meta, attr, None)
            if value is not None:
                bounds.append(f"{sign} {value:g}" if isinstance(value, int | float)
                              else f"{sign} {value}")
        if getattr(meta, "min_length", None):
            text = "a non-empty text"
    if bounds:
        text += " " + " and ".join(bounds)
    if optional:
        text += " (or empty)"
    return text


def key_line(text: str | None, loc: tuple[Any, ...]) -> int | None:
    """The line of `text` (1-based) that best holds the key `loc`, or None.

    tomllib keeps no positions, so every table header and `key = value` line is parsed on its
    own and the one whose full key shares the longest prefix with `loc` wins (the first of
    equals); a missing key points at its table's header.
    """
    if not text:
        return None
    want = [str(x) for x in loc if not isinstance(x, int)]
    table: list[str] = []
    best, best_score = None, 0
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("["):
            inner = stripped.lstrip("[").split("]")[0].strip()  # [[array]] as [table]
            try:
                table = _path(tomllib.loads(f"[{inner}]\n"))
            except tomllib.TOMLDecodeError:
                continue
            path = table
        else:
            try:
                path = table + _path(tomllib.loads(stripped))
            except tomllib.TOMLDecodeError:
                continue
        score = 0
        for a, b in zip(path, want, strict=False):
            if a != b:
                break
            score += 1
        if score > best_score and score >= min(len(path), len(want)):
            best, best_score = number, score
    return best


def _path(data: dict[str, Any]) -> list[str]:
    out: list[str] = []
    while isinstance(data, dict) and len(data) == 1:
        (key, value), = data.items()
        out.append(key)
        data = value
    return out
