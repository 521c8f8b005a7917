"""Performance benchmarks: each module is one command (``python -m benchmarks.NAME``) that prints its
figures. They are not timed tests; ``tests/test_benchmarks.py`` only checks that each runs."""
