"""`python -m scoreaug_lab.cli ...` (what torchrun launches)."""
import sys

from . import main

sys.exit(main())
