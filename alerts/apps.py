from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"

    def ready(self) -> None:
        # Imported here, not at module level: receivers need the app registry ready.
        from alerts.receivers import evaluate_after_warehouse_run
        from warehouse.signals import warehouse_run_finished

        warehouse_run_finished.connect(evaluate_after_warehouse_run, dispatch_uid="alerts.warehouse_run")
