"""`make bench`: performance figures, each printed as a ratio against a bound or a baseline measured in
the same run (never a timed assertion). Results are written to build/bench.json (under SBE_BUILD_DIR
when set)."""
