"""`python -m rongpub` runs the `rongpub` command."""

import sys

from ._cli import main

sys.exit(main())
