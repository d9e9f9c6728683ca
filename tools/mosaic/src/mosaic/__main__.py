"""`python -m mosaic` runs the same command line as the `mosaic` script."""

from mosaic.cli import main

main()
