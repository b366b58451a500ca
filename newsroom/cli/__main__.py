"""`python -m newsroom.cli`: the same as the `newsroom` command."""

from newsroom.cli import main

main()
