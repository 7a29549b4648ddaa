"""A local Stripe: the API calls Bosco makes, in Stripe's wire format, plus its hosted pages and webhooks.

Bosco's machines reach no outside API, so tests, benchmarks and `make run` point the official
`stripe` library at this emulator (`base_addresses={"api": emulator.base_url}`); production
points it at Stripe. No Django import: it starts fast and is tested on its own.

    from devtools.stripe_emulator import start_stripe_emulator
    emulator = start_stripe_emulator(port=0, webhook_url="http://localhost:8000/billing/stripe/webhook/")
    emulator.base_url, emulator.state.advance(days=30), emulator.shutdown()

See docs/stripe-emulator.md for what it serves, the controls and what it does not do.
"""

from devtools.stripe_emulator.catalogue import DEFAULT_CATALOGUE, CataloguePlan, lookup_key
from devtools.stripe_emulator.server import StripeEmulator, start_stripe_emulator
from devtools.stripe_emulator.state import StripeEmulatorConfig, StripeState
from devtools.stripe_emulator.webhooks import signature_header
from devtools.stripe_emulator.wire import API_VERSION

__all__ = [
    "API_VERSION",
    "DEFAULT_CATALOGUE",
    "CataloguePlan",
    "StripeEmulator",
    "StripeEmulatorConfig",
    "StripeState",
    "lookup_key",
    "signature_header",
    "start_stripe_emulator",
]
