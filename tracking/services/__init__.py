"""Writes of tracking: settings and keys (`settings`), landing (`landing`), privacy (`privacy`)."""
