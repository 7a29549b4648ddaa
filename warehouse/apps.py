from django.apps import AppConfig


class WarehouseConfig(AppConfig):
    name = "warehouse"

    def ready(self) -> None:
        # Imported here, not at module level: models and services need the app registry ready.
        from accounts.signals import reporting_currency_changed
        from warehouse.receivers import recompute_after_reporting_currency_change

        reporting_currency_changed.connect(
            recompute_after_reporting_currency_change, dispatch_uid="warehouse.reporting_currency"
        )
