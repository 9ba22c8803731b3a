"""Command-line entry points run outside Lambda (CircleCI jobs)."""
