"""One module per benchmark section; each adds its figures to the run's report."""
