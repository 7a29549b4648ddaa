"""Dev tooling, outside the product layers: the platform API emulators, synthetic warehouse data,
the demo workspace (`ensure_demo`, `demo_sync`, `run_emulators`), and a local Stripe
(`stripe_emulator/`, for billing).

It may import any product package; no product package may import it (`.importlinter`). As a
Django app it is installed in development and test settings only, so production has none of its
commands; the emulators themselves need no Django (`python -m devtools.emulators`).
"""
