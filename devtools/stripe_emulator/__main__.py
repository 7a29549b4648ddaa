import sys

from devtools.stripe_emulator.cli import main

sys.exit(main())
