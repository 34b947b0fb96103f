"""Pure-NumPy twins of every compiled kernel, written for clarity.

Used by the tests (the core must equal its twin) and by the benchmarks (speed ratios). Not tuned
for speed, and not part of the stable API.
"""
