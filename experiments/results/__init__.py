"""The typed results that experiments hand to one another: frozen dataclasses in modules without I/O, so that
the store rebuilds them without importing torch or the experiments."""
