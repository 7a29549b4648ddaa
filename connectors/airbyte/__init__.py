"""Any Airbyte source: Python sources run as subprocesses speaking the Airbyte protocol.

- `registry`: the sources Bosco supports (package, pinned version, entry point, mapping).
- `venvs`: one virtualenv per source and version, built on first use under a lock.
- `protocol`: the protocol's messages read from a source's stdout, checked strictly.
- `process`: running `spec`/`check`/`discover`/`read` with resource limits and a timeout.
- `forms`: a Django form generated from a source's `connectionSpecification`.
- `mappings`: declarative mappings of source streams onto Bosco's ad-performance shape.
- `bridge`: a sync run of an Airbyte connection (records and STATE committed together).
- `services`: adding a source, checking, discovering, choosing streams (writes).
"""
