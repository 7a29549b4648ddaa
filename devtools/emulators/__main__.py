"""`python -m connectors.emulators --port 8765 --campaigns 50 --seed 7` (no Django needed)."""

from connectors.emulators.cli import main

raise SystemExit(main())
