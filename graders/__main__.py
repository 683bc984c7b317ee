"""``python -m graders``: see ``graders.pipeline.cli``."""
import sys

from graders.pipeline.cli import main

sys.exit(main())
