"""``python -m tools.slack_preview``: see the package docstring."""

import sys

from tools.slack_preview.shots import main

sys.exit(main())
