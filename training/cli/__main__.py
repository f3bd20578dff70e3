"""``python -m training.cli``: the same as the ``jiaoban`` command (the service runs training jobs this way)."""

from training.cli import main

main()
