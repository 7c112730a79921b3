"""Benchmark peers' programs: each runs in that peer's own virtual environment (benchmarks/.peers/)."""
