"""Benchmarks: speed and memory targets are measured here and printed as tables, never asserted in tests."""
