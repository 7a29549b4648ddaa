from django.apps import AppConfig


class DigestsConfig(AppConfig):
    name = "digests"
    verbose_name = "E-mail digests"

    def ready(self) -> None:
        # AppConfig.ready: selectors import models, which need the app registry ready.
        from bosco import workspace_facts
        from digests.selectors import last_digest_sent_here

        workspace_facts.register(workspace_facts.LAST_DIGEST_SENT, last_digest_sent_here)
