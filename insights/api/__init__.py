"""The insights' REST endpoints under /api/v1/insights/: anomalies, forecasts, attribution and
the budget planner (`views.py`, paths in `urls.py`, included by `bosco/urls_api.py`). They read
through `insights.selectors.api` and plan through `insights.services.budget_requests`; the
isolation matrix and schemathesis pick them up from the schema.
"""
