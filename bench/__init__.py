"""The benchmark harness (issue 4): ``python -m bench``, ``make bench``; see bench/README.md."""
