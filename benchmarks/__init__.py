"""Benchmarks for peel-search: speed, memory and scale, measured honestly.

Run ``python -m benchmarks --quick`` (everyday, under two minutes once the cache is warm)
or ``python -m benchmarks`` (full, with the 100k-chunk scaled corpus). Results go to
``benchmarks/results/<mode>-<date>.json`` and ``benchmarks/results/latest-<mode>.json``;
``benchmarks/README.md`` says what each number means and how it is measured.
"""
