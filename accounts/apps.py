from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    default = True  # this module also holds StaffAdminConfig, named in INSTALLED_APPS on its own
    name = "accounts"
    verbose_name = "Accounts and workspaces"

    def ready(self) -> None:
        from accounts import signals  # noqa: F401  (connects the login signal handlers)


class StaffAdminConfig(admin_apps.AdminConfig):
    """Django's admin, on a site that lets in only staff who passed the second factor."""

    default = False
    default_site = "accounts.admin_site.StaffAdminSite"
