"""Scenario overrides: one vocabulary for `--set`, sweep specs and the API.

An override is `KEY=VALUE`. A key names either a scalar of `instance.toml` or a column of a
table, optionally restricted to rows by id:

    economics.discount_rate=0.08                       scalar of instance.toml: set
    demand.scale=1.2                                   table quantity: multiply every row
    demand[region=hanoi].scale=1.5                     ... only the rows with region hanoi
    demand[region=hanoi|north,class=ai].it_mw.add=5    column: add (restricted by two filters)
    headroom[zone=hanoi_west].headroom_mw=75           column: set
    headroom[zone=hanoi_west,year=2026..2029].scale=0.5  years 2026 to 2029
    budgets[year=2028].scale=0.8                       the 2028 budget row(s)
    budgets[sponsor=,year=].max_capex_usd_m=7000       empty cells match empty filters
    latency_targets[region=hanoi,class=sens].max_rtt_ms=10
    phases[site=shtp,phase=p4].cooling=air|dlc|immersion

Grammar (spaces are not significant)::

    key     := SECTION "." NAME                         (a scalar of instance.toml)
             | TABLE [ "[" filter { "," filter } "]" ] "." target
    filter  := COLUMN "=" [ VALUE { "|" VALUE } ]       (a row matches any listed value;
                                                          an empty list matches empty cells;
                                                          FROM..TO for whole-number columns;
                                                          a list column matches if it names
                                                          any of the values)
    target  := "scale"                                  (multiply the table's quantity column)
             | COLUMN                                   (set the column to VALUE)
             | COLUMN ".scale" | COLUMN ".add"          (multiply by / add VALUE; numbers only)

Overrides apply in the order given. Every filter must match at least one row, and every new
value is validated like a cell of the file (type, unit range, horizon years), followed by the
cross-table checks, so a bad override fails with exit code 2 naming what was expected.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd
from pydantic import ValidationError

from siteopt.data.instance import Instance
from siteopt.errors import InputError, Problem, did_you_mean
from siteopt.io.read import _parse_cell
from siteopt.io.schema import (
    METADATA_SECTIONS,
    OVERRIDABLE_SECTIONS,
    PER_ID_SECTIONS,
    TABLES_BY_NAME,
    Column,
    Metadata,
    Table,
)
from siteopt.io.tomlfile import validation_problems

#: The quantity column `TABLE.scale` multiplies, for the tables that have one.
SCALE_COLUMNS: dict[str, str] = {
    "demand": "it_mw",
    "headroom": "headroom_mw",
    "budgets": "max_capex_usd_m",
    "latency_targets": "max_rtt_ms",
    "service_costs": "cost_usd_m_per_mw_year",
    "phases": "capex_usd_m",
    "upgrades": "capex_usd_m",
    "sites": "open_cost_usd_m",
    "links": "km",
}

#: Where overrides are reported in error messages.
SOURCE = "override"

_KEY = re.compile(r"^(?P<table>[A-Za-z_][A-Za-z0-9_]*)(?:\[(?P<filters>[^\]]*)\])?"
                  r"\.(?P<target>[A-Za-z_][A-Za-z0-9_]*)(?:\.(?P<op>scale|add))?$")
_RANGE = re.compile(r"^(-?\d+)\.\.(-?\d+)$")
#: `resilience.CLASS.key`: a key of a per-id section (`PER_ID_SECTIONS`)
_PER_ID = re.compile(r"^(?P<section>[A-Za-z_]+)\.(?P<id>[^.\[\]=]+)\.(?P<name>[A-Za-z_0-9]+)$")


def override_keys() -> dict[str, str]:
    """Every scalar key of `instance.toml` that may be overridden, with its description."""
    return {f"{section}.{name}": (info.description or "")
            for section in OVERRIDABLE_SECTIONS
            for name, info in METADATA_SECTIONS[section].model_fields.items()}


def per_id_override_keys() -> dict[str, str]:
    """Every key of a per-id section (`resilience.CLASS.KEY`), with its description."""
    return {f"{section}.CLASS.{name}": (info.description or "")
            for section, model in PER_ID_SECTIONS.items()
            for name, info in model.model_fields.items()}


def table_override_help() -> str:
    """The tables and columns a table override may name (for `--help` and the docs)."""
    lines = []
    for name, table in TABLES_BY_NAME.items():
        ids = [c.name for c in table.columns if c.kind in ("id", "year", "int")
               and c.name in table.key]
        numbers = [c.name for c in table.columns if c.kind in ("float", "int")]
        scale = f"; scale = {SCALE_COLUMNS[name]}" if name in SCALE_COLUMNS else ""
        lines.append(f"  {name}[{','.join(f'{i}=' for i in ids)}]: numbers "
                     f"{', '.join(numbers) or '-'}{scale}")
    return "\n".join(lines)


@dataclass(frozen=True)
class TableOverride:
    """A parsed table override: which rows of which table, which column, which operation."""

    table: str
    filters: tuple[tuple[str, tuple[str, ...]], ...]
    column: str
    op: str  # "set", "scale" or "add"
    key: str


def parse_assignments(items: Iterable[str]) -> dict[str, str]:
    """Split `KEY=VALUE` strings at the first `=` outside brackets; bad ones are InputErrors."""
    out: dict[str, str] = {}
    for item in items:
        depth, cut = 0, -1
        for i, ch in enumerate(item):
            if ch == "[":
                depth += 1
            elif ch == "]":
                depth -= 1
            elif ch == "=" and depth == 0:
                cut = i
                break
        key = item[:cut].strip() if cut >= 0 else ""
        if cut < 0 or not key:
            raise InputError(Problem("--set", "KEY=VALUE", found=item))
        out[key.replace(" ", "")] = item[cut + 1:].strip()
    return out


def parse_key(key: str) -> TableOverride | str:
    """A scalar key (returned as is) or a parsed table override; InputError if neither."""
    key = key.replace(" ", "")
    if key in override_keys():
        return key
    per_id = _PER_ID.match(key)
    if per_id is not None and per_id["section"] in PER_ID_SECTIONS:
        return _per_id_key(key, per_id["section"], per_id["name"])
    if key.split(".", 1)[0] in PER_ID_SECTIONS:
        raise InputError(Problem(SOURCE, f"{key.split('.', 1)[0]}.CLASS.KEY with KEY one of "
                                 + ", ".join(PER_ID_SECTIONS[key.split('.', 1)[0]].model_fields),
                                 column=key, found=key))
    match = _KEY.match(key)
    section = key.split(".", 1)[0]
    if match is None or match["table"] not in TABLES_BY_NAME:
        if section in METADATA_SECTIONS:
            raise InputError(Problem(SOURCE, "a known key" + did_you_mean(key, override_keys())
                                     + ": one of " + ", ".join(sorted(override_keys())),
                                     column=key, found=key))
        if match is not None and did_you_mean(match["table"], TABLES_BY_NAME):
            raise InputError(Problem(SOURCE, "a table" + did_you_mean(match["table"],
                                                                      TABLES_BY_NAME)
                                     + ": one of " + ", ".join(TABLES_BY_NAME), column=key,
                                     found=match["table"]))
        raise InputError(Problem(SOURCE, "SECTION.NAME (one of " + ", ".join(
            sorted(override_keys())) + "), " + " or ".join(sorted(per_id_override_keys()))
            + " or TABLE[COLUMN=ID,...].COLUMN[.scale|.add] with TABLE one of "
            + ", ".join(TABLES_BY_NAME), column=key, found=key))
    table = TABLES_BY_NAME[match["table"]]
    filters = _parse_filters(table, match["filters"] or "", key)
    target, op = match["target"], match["op"] or "set"
    if target == "scale" and match["op"] is None:
        if table.name not in SCALE_COLUMNS:
            raise InputError(Problem(SOURCE, f"a column of {table.name} before '.scale' (the "
                                     f"table has no default quantity)", column=key, found=key))
        target, op = SCALE_COLUMNS[table.name], "scale"
    col = _column(table, target, key)
    if op != "set" and col.kind not in ("float", "int"):
        raise InputError(Problem(SOURCE, f"a numeric column for .{op} (one of "
                                 f"{', '.join(_numeric(table))})", column=key, found=target))
    return TableOverride(table=table.name, filters=filters, column=target, op=op, key=key)


def _per_id_key(key: str, section: str, name: str) -> str:
    """`section.ID.name` if `name` is a key of the section's model, else an InputError.

    The id (a class for `resilience`) is checked against the tables with the instance.
    """
    fields = PER_ID_SECTIONS[section].model_fields
    if name not in fields:
        raise InputError(Problem(SOURCE, "a known key" + did_you_mean(name, fields)
                                 + ": one of " + ", ".join(fields), column=key, found=name))
    return key


def _numeric(table: Table) -> list[str]:
    return [c.name for c in table.columns if c.kind in ("float", "int")]


def _column(table: Table, name: str, key: str) -> Column:
    try:
        return table.column(name)
    except KeyError:
        names = [c.name for c in table.columns]
        raise InputError(Problem(SOURCE, f"a column of {table.name}{did_you_mean(name, names)}: "
                                 + ", ".join(names), column=key, found=name)) from None


def _parse_filters(table: Table, text: str, key: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not text.strip():
        return ()
    out = []
    for part in text.split(","):
        name, sep, values = part.partition("=")
        if not sep:
            raise InputError(Problem(SOURCE, "filters COLUMN=VALUE[|VALUE...] separated by ','",
                                     column=key, found=part))
        _column(table, name.strip(), key)
        items = tuple(v.strip() for v in values.split("|")) if values.strip() else ()
        out.append((name.strip(), items))
    return tuple(out)


def apply_overrides(inst: Instance, values: Mapping[str, object]) -> Instance:
    """A copy of `inst` with the overrides applied in order, validated like the files.

    `values` maps keys of the grammar above to values (strings, numbers or booleans).
    """
    if not values:
        return inst
    # only what was set, so that the result still knows which settings are explicit
    data = inst.meta.model_dump(exclude_unset=True)
    parsed = [(parse_key(k), v) for k, v in values.items()]
    for target, value in parsed:
        if isinstance(target, str):
            section, name = target.split(".", 1)
            if section in PER_ID_SECTIONS:  # resilience.CLASS.key
                ident, name = name.rsplit(".", 1)
                entry = data.setdefault(section, {}).setdefault(ident, {})
                if value == "":
                    entry.pop(name, None)  # "" restores the default
                else:
                    entry[name] = value
                continue
            data.setdefault(section, {})[name] = None if value == "" else value  # "" clears
    try:
        meta = Metadata.model_validate(data)
    except ValidationError as exc:
        raise InputError(validation_problems(exc, Metadata, SOURCE)) from exc
    tables = dict(inst.tables)
    copied: set[str] = set()
    for target, value in parsed:
        if isinstance(target, TableOverride):
            if target.table not in copied:
                frame = tables[target.table].copy()
                frame.attrs = dict(tables[target.table].attrs)
                tables[target.table] = frame
                copied.add(target.table)
            _apply_table(tables[target.table], target, value, meta)
    from siteopt.data.load import make_instance

    # the fingerprint is the loaded instance's plus a digest of every override applied to it
    # so far: applying them in one call or in several gives the same (`siteopt verify`)
    applied = inst.overrides + tuple(values.items())
    base = inst.fingerprint.rsplit("+", 1)[0] if inst.overrides else inst.fingerprint
    # the changed tables go through the per-table rules again (a new id may repeat a key)
    return make_instance(meta, tables, path=inst.path, fingerprint=f"{base}+{_digest(applied)}",
                         checked=set(tables) - copied, overrides=applied, emptied=inst.emptied)


def apply_recorded(inst: Instance, applied: Iterable[tuple[str, object]]) -> Instance:
    """`inst` with a recorded sequence of overrides (`Instance.overrides`) applied again.

    A key may repeat in the sequence (applied twice, e.g. two scalings); each run of
    distinct keys is applied in one call.
    """
    run: dict[str, object] = {}
    for key, value in applied:
        if key in run:
            inst = apply_overrides(inst, run)
            run = {}
        run[key] = value
    return apply_overrides(inst, run)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "|".join(str(v) for v in value)
    return str(value).strip()


def _is_empty(v: object) -> bool:
    """An empty cell: missing number or year, empty text or id, empty list."""
    if isinstance(v, tuple):
        return not v
    if v is None or isinstance(v, str):
        return not v
    return bool(pd.isna(v))


def _rows(frame: pd.DataFrame, ov: TableOverride) -> pd.Series:
    """Rows matching every filter; a filter matching no row is an InputError."""
    table = TABLES_BY_NAME[ov.table]
    mask = pd.Series(True, index=frame.index)
    for name, items in ov.filters:
        col = table.column(name)
        cells = frame[name]
        if not items:
            hit = cells.map(_is_empty).astype(bool)
        elif col.kind == "list":  # a row matches if its list names any of the values
            hit = cells.map(lambda v, w=set(items): bool(set(v or ()) & w)).astype(bool)
        elif col.kind in ("int", "year"):
            wanted: set[int] = set()
            for item in items:
                rng = _RANGE.match(item)
                try:
                    if rng:
                        wanted.update(range(int(rng[1]), int(rng[2]) + 1))
                    else:
                        wanted.add(int(item))
                except ValueError:
                    raise InputError(Problem(SOURCE, f"whole numbers or FROM..TO for {name}",
                                             column=ov.key, found=item)) from None
            hit = cells.map(lambda v, w=wanted: not pd.isna(v) and int(v) in w).astype(bool)
        else:
            hit = cells.astype(object).astype(str).isin(items)
        if not hit.any():
            present = sorted({str(x) for v in cells
                              for x in (v if isinstance(v, tuple) else [v])
                              if not _is_empty(x)})
            shown = ", ".join(present[:20]) + (" ..." if len(present) > 20 else "")
            raise InputError(Problem(SOURCE, f"{name} among the values of {table.file} "
                                     f"({shown or 'no rows'})", column=ov.key,
                                     found="|".join(items)))
        mask &= hit
    if not mask.any():
        raise InputError(Problem(SOURCE, f"filters matching at least one row of {table.file} "
                                 "together", column=ov.key, found="no row"))
    return mask


def _apply_table(frame: pd.DataFrame, ov: TableOverride, value: object, meta: Metadata) -> None:
    table = TABLES_BY_NAME[ov.table]
    col = table.column(ov.column)
    mask = _rows(frame, ov)
    text = _text(value)
    if ov.op == "set":
        parsed, expected = _parse_cell(col, text, meta)
        if expected is not None:
            raise InputError(Problem(SOURCE, expected, column=ov.key, found=text))
        new = [parsed] * int(mask.sum())
    else:
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise InputError(Problem(SOURCE, f"a finite number to {ov.op} by", column=ov.key,
                                     found=text))
        new = []
        for old in frame.loc[mask, ov.column]:
            if pd.isna(old):
                new.append(old)  # an empty cell stays empty (its default applies)
                continue
            result = float(old) * number if ov.op == "scale" else float(old) + number
            if col.kind == "int":
                result = round(result)
            cell, expected = _parse_cell(col, repr(result), meta)
            if expected is not None:
                raise InputError(Problem(SOURCE, f"a result that is {expected}", column=ov.key,
                                         found=f"{old} -> {result:g}"))
            new.append(cell)
    if col.kind == "float":
        frame.loc[mask, ov.column] = pd.array(new, dtype=float)
    elif col.kind in ("int", "year"):
        frame.loc[mask, ov.column] = pd.array(new, dtype="Int64")
    else:
        column = frame[ov.column].astype(object).copy()
        for i, v in zip(frame.index[mask], new, strict=True):
            column.at[i] = v
        frame[ov.column] = column


def _digest(applied: tuple[tuple[str, object], ...]) -> str:
    keys = [k for k, _v in applied]
    items = sorted(applied, key=lambda kv: kv[0]) if len(set(keys)) == len(keys) else applied
    text = ";".join(f"{k}={v}" for k, v in items)
    return hashlib.sha256(text.encode()).hexdigest()[:8]
