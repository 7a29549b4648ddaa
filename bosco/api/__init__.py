"""The REST API's shared base: one place owns authentication, permissions, workspace scoping,
errors (RFC 9457 problem details), pagination, throttling and caching. Endpoints live in each
app's `api/` package and subclass `bosco.api.viewsets.WorkspaceAPIView` / `WorkspaceViewSet`.
"""
