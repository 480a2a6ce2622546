"""Ladder's benchmarks against the physical limits (issue #6): `python -m tests.benchmarks`."""
