"""`make bench`: Rerunnable against the CronJob controller and the API server's own limit.

Run `python -m bench.run --help`; bench/README.md says what each figure means.
"""
