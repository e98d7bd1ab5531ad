"""The `corridor` command line: `main` holds the core commands and loads the others
(projections, kafka, audit, and the benchmark harness's `bench`) only when asked for."""
