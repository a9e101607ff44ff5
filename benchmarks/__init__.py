"""Benchmarks and evaluation harnesses (run as modules: python -m benchmarks.<name>)."""
