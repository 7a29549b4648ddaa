"""The insights' REST endpoints (anomalies, forecasts, attribution, budget scenarios) live here.

None is published yet. When one is: a view extending `bosco.api.viewsets` in `views.py` that
reads through `insights.selectors`, its path in `urls.py` — `bosco/urls_api.py` already
includes them under /api/v1/, and the isolation matrix and schemathesis pick it up from the
schema.
"""
