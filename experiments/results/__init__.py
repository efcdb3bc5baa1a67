"""The typed results that experiments hand to one another: frozen dataclasses in modules without I/O, so that
the store rebuilds them without importing torch or the experiments."""
from typing import Any

# A figure field holds a matplotlib Figure when the experiment returns it and the store's Figure (its file) once
# the result is read back from the cache: the templates and the store treat both alike.
Plot = Any
