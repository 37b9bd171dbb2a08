"""``python -m geoapp.cli``: the same as the ``geoapp`` command."""

import sys

from geoapp.cli import main

sys.exit(main())
