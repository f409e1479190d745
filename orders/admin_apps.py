from django.contrib.admin.apps import AdminConfig


class StaffAdminConfig(AdminConfig):
    """Django's admin, with our site (orders/admin_site.py) as the default one."""

    default_site = "orders.admin_site.StaffAdminSite"
