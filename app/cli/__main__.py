"""`python -m app.cli` runs the `arigato` command."""

from app.cli.main import main

main()
