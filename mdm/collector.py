"""Python's cyclic garbage collector, tuned for bulk work in one call (an import pass, a
reconciliation batch)."""

import contextlib
import gc

YOUNG_OBJECTS = 100_000  # new container objects between two collections, at least


@contextlib.contextmanager
def collecting_less():
    """Python's cyclic garbage collector run less often while bulk work goes on. An import
    chunk's thousands of rows, records and dicts, or a reconciliation batch's names, live
    long enough to be promoted through the collector's generations, and each promotion
    brings collections of the whole heap: at the default thresholds they took a third of a
    large import plan's CPU. Cycles are still collected, at most every YOUNG_OBJECTS new
    objects. The thresholds are the process's: another thread's work meanwhile is collected
    as rarely."""
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], YOUNG_OBJECTS), *(max(b, 50) for b in before[1:]))
    try:
        yield
    finally:
        gc.set_threshold(*before)
