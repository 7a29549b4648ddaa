"""Local emulators of the platform APIs Bosco's connectors talk to (Google Ads, Meta Marketing).

Bosco's machines reach no platform API, so tests, benchmarks and the demo point the connector
clients at these emulators over real HTTP; production points the same clients at the real base
URLs. This package must not import Django: it starts fast and is testable on its own.

    from devtools.emulators import EmulatorConfig, start_emulator_server
    srv = start_emulator_server(port=0, config=EmulatorConfig(seed=7))
    srv.base_url, srv.state, srv.shutdown()

See docs/emulators.md for routes, configuration, the control API and the fault catalogue.
"""

from devtools.emulators.config import GOOGLE_ADS, META, AccountSpec, EmulatorConfig
from devtools.emulators.server import EmulatorServer, start_emulator_server
from devtools.emulators.state import EmulatorState

__all__ = [
    "GOOGLE_ADS",
    "META",
    "AccountSpec",
    "EmulatorConfig",
    "EmulatorServer",
    "EmulatorState",
    "start_emulator_server",
]
