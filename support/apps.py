from django.apps import AppConfig


class SupportConfig(AppConfig):
    name = "support"
    verbose_name = "Support console"

    def ready(self) -> None:
        # Imported here, not at module level: receivers need the app registry ready.
        from accounts.signals import workspace_created
        from billing.signals import support_change_made
        from support.receivers import health_row_for_new_workspace, record_billing_change, refresh_after_warehouse_run
        from warehouse.signals import warehouse_run_finished

        support_change_made.connect(record_billing_change, dispatch_uid="support.billing_change")
        workspace_created.connect(health_row_for_new_workspace, dispatch_uid="support.health_row")
        warehouse_run_finished.connect(refresh_after_warehouse_run, dispatch_uid="support.warehouse_run")
