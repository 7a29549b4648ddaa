from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    name = "connectors"

    def ready(self) -> None:
        # Imported here: selectors import the models, which need the app registry ready.
        from bosco.sources import register_sources_summary
        from connectors.selectors import sources_summary

        register_sources_summary(sources_summary)
