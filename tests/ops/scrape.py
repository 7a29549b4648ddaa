"""Reading /metrics the way Prometheus does: over HTTP on the public host, with the bearer token."""

from __future__ import annotations

from django.conf import settings
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

TOKEN = "metrics-test-token-0123456789"


def scrape(client: Client | None = None) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics, keyed by (sample name, sorted labels)."""
    client = client or Client(HTTP_HOST=settings.BOSCO_DOMAIN)
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content[:300]
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)
