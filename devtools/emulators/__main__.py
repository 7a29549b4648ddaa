"""`python -m devtools.emulators --port 8765 --campaigns 50 --seed 7` (no Django needed)."""

from devtools.emulators.cli import main

raise SystemExit(main())
