"""The tracking API: erasing one person's first-party events on request (GDPR / CCPA)."""
