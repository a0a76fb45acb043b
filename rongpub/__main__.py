"""`python -m rongpub` runs the `rongpub` command."""

import sys

from ._cli.main import main

sys.exit(main())
