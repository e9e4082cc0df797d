"""Benchmarks of planner against raw HiGHS on seeded national-scale instances (bench/README.md)."""
