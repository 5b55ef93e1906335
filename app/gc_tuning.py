"""The garbage collector's settings for a server worker, set once when its app is built.

A worker holding thousands of open streams keeps about a hundred GC-tracked objects per
stream alive for the stream's life (its tasks, generator frames, record). With CPython's
defaults (700, 10, 10) the collector runs a full collection each time the objects that
survived young collections grow by a quarter: while 10,000 streams open that is a dozen full
collections, each walking every object in the process (about a million, 0.4-1 s per walk on
this machine), and every stream's next frame waits for it.

- ``gc.freeze()``: what start-up made (modules, config, the app; about 100,000 objects) moves
  to the permanent generation, which no collection walks again.
- ``THRESHOLDS``: a young collection after 10,000 net new objects instead of 700 (fewer
  young collections, each still short), an older one every 10 of those, and a full one only
  after 100 older ones: at 10,000 streams opening, no full collection at all, and the
  collections that do run stay in the tens of milliseconds. Garbage in reference cycles is
  still collected, by the young collections, as long as it is young.

Measured in-process (``python -m bench.held_streams``) and in the open-streams bench: see
``bench/README.md``.
"""

from __future__ import annotations

import gc

THRESHOLDS = (10_000, 10, 100)
_done = False


def tune_gc(thresholds: tuple[int, int, int] = THRESHOLDS, freeze: bool = True) -> None:
    """Once per process: freeze what start-up made, then set ``thresholds``."""
    global _done  # noqa: PLW0603 - once per process
    if _done:
        return
    _done = True
    if freeze:
        gc.collect()  # start-up's garbage is not frozen with it
        gc.freeze()
    gc.set_threshold(*thresholds)
