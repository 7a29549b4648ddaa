"""Reads of tracking data (events in the current workspace schema, settings in the public schema)."""
