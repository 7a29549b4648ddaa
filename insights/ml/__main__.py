"""``python -m insights.ml`` entry point (see :mod:`insights.ml.cli`)."""

from insights.ml.cli import main

raise SystemExit(main())
