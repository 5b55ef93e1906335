"""A labelled child's values as a list of floats ("cells") the hot path updates in place.

A counter or gauge child has one cell; a histogram child one per bucket (not cumulative, as the
library keeps them) and its sum last. ``observe_into(cells, bounds, value)`` is a bisect and two
additions: no method call per value, no lock.

In a single process the cells are a plain list, and the child's values (what the library reads
when scraped) are replaced by views of them (``_Cell``): every update and every scrape happens
on the event loop's thread, so the library's mutex buys nothing. With worker processes the
cells write through to the library's shared-memory values (``_SharedCells``), which the scrape
sums across workers; each worker writes only its own file.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from typing import Any, Protocol


class Cells(Protocol):
    def __getitem__(self, index: int) -> float: ...

    def __setitem__(self, index: int, value: float) -> None: ...


class _Cell:
    """prometheus-client's value interface over one cell of a list."""

    __slots__ = ("_cells", "_index")
    _multiprocess = False

    def __init__(self, cells: list[float], index: int) -> None:
        self._cells = cells
        self._index = index

    def inc(self, amount: float) -> None:
        self._cells[self._index] += amount

    def set(self, value: float, timestamp: float | None = None) -> None:
        self._cells[self._index] = value

    def set_exemplar(self, exemplar: object) -> None:
        pass

    def get(self) -> float:
        return self._cells[self._index]

    def get_exemplar(self) -> None:
        return None


class _SharedCells:
    """Cells over the library's own values (shared memory with worker processes)."""

    __slots__ = ("_values",)

    def __init__(self, values: Sequence[Any]) -> None:
        self._values = list(values)

    def __getitem__(self, index: int) -> float:
        value: float = self._values[index].get()
        return value

    def __setitem__(self, index: int, value: float) -> None:
        self._values[index].set(value)


def cells_of(child: Any, shared: bool) -> Cells:
    """The cells of a child the library just made (or made before: its cells are reused)."""
    histogram = hasattr(child, "_buckets")
    values = [*child._buckets, child._sum] if histogram else [child._value]
    if shared:
        return _SharedCells(values)
    if isinstance(values[0], _Cell):  # made before: the same cells
        cells: list[float] = values[0]._cells
        return cells
    cells = [0.0] * len(values)
    views = [_Cell(cells, index) for index in range(len(values))]
    if histogram:
        child._buckets, child._sum = views[:-1], views[-1]
    else:
        child._value = views[0]
    return cells


def observe_into(cells: Cells, bounds: Sequence[float], value: float) -> None:
    """A histogram's observation: the first bucket whose bound is at or above ``value``, and the sum."""
    cells[bisect_left(bounds, value)] += 1
    cells[-1] += value


class CellGauge:
    """A gauge child's cell with ``inc``/``dec`` (the chat route's in-flight gauge)."""

    __slots__ = ("_cells",)

    def __init__(self, cells: Cells) -> None:
        self._cells = cells

    def inc(self) -> None:
        self._cells[0] += 1

    def dec(self) -> None:
        self._cells[0] -= 1
