"""`python -m services.cli ...` runs the corridor command line."""

from services.cli.main import main

main()
