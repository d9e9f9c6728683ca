"""`python -m loadgen ...`: the command line (see `loadgen.cli`)."""

import sys

from loadgen.cli import main

sys.exit(main())
