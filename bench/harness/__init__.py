"""Shared machinery of the benchmark tools (run.py, ab.py, insns.py, soak.py, burst.py)."""
