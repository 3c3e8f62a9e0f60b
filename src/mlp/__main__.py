"""``python -m mlp``: the command line (see ``mlp.cli``)."""

import sys

from mlp.cli import main

sys.exit(main())
