"""Benchmarks: figures printed as ratios against a baseline run in the same process. Not tests."""
