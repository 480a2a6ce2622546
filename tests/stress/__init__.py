"""Stress, fault, hostile-input and secrets tests (issue #8); `python -m tests.stress.report`."""
