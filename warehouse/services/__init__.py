"""Writes to the warehouse. Connectors land raw records through `landing`."""
