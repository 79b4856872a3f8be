"""Python's cyclic garbage collector, paused for a piece of batch work.

A batch that makes a great many objects, none of them in a cycle (the rows of an imported file,
the weeks and sentences of thousands of claims judged), sets the collector off again and again:
each time it walks those objects, and every object of the application, for nothing. Pausing it
for the batch and letting it run after costs nothing in memory that the batch does not hold
anyway. The pause is the process's, so it is kept to the batch.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """The collector paused inside the block, and running again after if it ran before."""
    running = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if running:
            gc.enable()
