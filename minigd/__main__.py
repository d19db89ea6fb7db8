"""``python -m minigd`` is the ``minigd`` command."""

import sys

from .cli import main

sys.exit(main())
