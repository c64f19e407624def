"""python -m embbench."""

import sys

from embbench.cli import main

sys.exit(main())
