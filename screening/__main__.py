"""`python -m screening ...`: the `screening` command."""

import sys

from screening.launcher import main

sys.exit(main())
