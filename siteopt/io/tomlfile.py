"""Reading a TOML file into a pydantic model, with problems that name the file and the key."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from siteopt.errors import InputError, Problem

M = TypeVar("M", bound=BaseModel)


def read_toml_model(path: str | Path, model: type[M], what: str) -> M:
    """`path` parsed as TOML and validated as `model`; `what` names the file kind in errors.

    Every validation problem is reported at once, with its dotted key as the column.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(Problem(str(path), what, found="no such file"))
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(Problem(str(path), "valid TOML", found=str(exc))) from exc
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise InputError([
            Problem(str(path), err["msg"], column=".".join(str(x) for x in err["loc"]),
                    found=None if err["type"] == "missing" else str(err.get("input")))
            for err in exc.errors()
        ]) from exc
