"""Scalar parameter overrides: `section.key=value`, for the CLI's `--set` and the API.

Keys are the dotted names of `instance.toml` (e.g. `economics.discount_rate`,
`service.allow_unserved`, `latency.rtt_ms_per_km`); `siteopt solve --help` lists them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pydantic import ValidationError

from siteopt.errors import InputError, Problem
from siteopt.instance import Instance
from siteopt.schema import METADATA_SECTIONS, OVERRIDABLE_SECTIONS, Metadata


def override_keys() -> dict[str, str]:
    """Every overridable key with its description."""
    return {f"{section}.{name}": (info.description or "")
            for section in OVERRIDABLE_SECTIONS
            for name, info in METADATA_SECTIONS[section].model_fields.items()}


def parse_assignments(items: Iterable[str]) -> dict[str, str]:
    """Split `KEY=VALUE` strings; a malformed one is an InputError naming it."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(Problem("--set", "KEY=VALUE", found=item))
        out[key.strip()] = value.strip()
    return out


def apply_overrides(inst: Instance, values: Mapping[str, object]) -> Instance:
    """A copy of `inst` with metadata scalars replaced; values are validated like the file."""
    if not values:
        return inst
    known = override_keys()
    data = inst.meta.model_dump()
    for key, value in values.items():
        if key not in known:
            raise InputError(Problem("--set", "one of " + ", ".join(sorted(known)), column=key,
                                     found=key))
        section, name = key.split(".", 1)
        data[section][name] = None if value == "" else value  # empty clears an optional key
    try:
        meta = Metadata.model_validate(data)
    except ValidationError as exc:
        raise InputError([
            Problem("--set", err["msg"], column=".".join(str(x) for x in err["loc"]),
                    found=str(err.get("input")))
            for err in exc.errors()
        ]) from exc
    from siteopt.instance import from_tables

    return from_tables(meta, inst.tables, path=inst.path,
                       fingerprint=f"{inst.fingerprint}+{_digest(values)}")


def _digest(values: Mapping[str, object]) -> str:
    import hashlib

    text = ";".join(f"{k}={values[k]}" for k in sorted(values))
    return hashlib.sha256(text.encode()).hexdigest()[:8]
