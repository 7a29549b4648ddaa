"""Bosco's database backend: django-tenants' backend with a table listing that scales with workspaces.

`ENGINE = "bosco.db_backend"` (bosco/settings/base.py). Everything is django-tenants' backend
except introspection's table listing; see `base.py`.
"""
