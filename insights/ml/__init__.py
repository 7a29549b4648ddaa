"""Bosco's insight models: anomalies, forecasts, attribution and budget allocation.

Pure numpy / pandas / scipy / scikit-learn — nothing here imports Django, so the models
can be tested and benchmarked on their own (`python -m insights.ml ...`,
`python bench/insights_eval.py`). The Django side calls the functions re-exported below.
"""
