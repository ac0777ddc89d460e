"""Tables as pandas DataFrames: plain-string columns and each row's line in its file."""

from __future__ import annotations

import pandas as pd


def records_frame(rows: list[tuple], columns: list[str], text: tuple[str, ...]) -> pd.DataFrame:
    """A DataFrame of `rows` whose `text` columns hold plain Python strings (object dtype).

    pandas 3 infers Arrow-backed strings, which cost several times more per cell in the
    Python loops that build the model and the checks.
    """
    cols = list(zip(*rows, strict=True)) if rows else [()] * len(columns)
    return pd.DataFrame({name: pd.Series(list(values), dtype=object if name in text else None)
                         for name, values in zip(columns, cols, strict=True)})


def row_line(frame: pd.DataFrame, i: int) -> int:
    """Line number in its file of row `i` of a table (the header is line 1)."""
    lines = frame.attrs.get("line")
    return lines[i] if lines and i < len(lines) else i + 2


class LineNumbers(tuple):
    """Each row's line number in its file, kept in `DataFrame.attrs["line"]`.

    Immutable, so a deep copy may share it: pandas deep-copies `attrs` on nearly every
    operation, which for a plain list of a large table's lines cost seconds per load.
    """

    __slots__ = ()

    def __deepcopy__(self, memo: dict[int, object]) -> LineNumbers:
        return self
