"""First-party tracking: the snippet, the collect endpoint, durable landing and privacy (docs/tracking.md)."""
