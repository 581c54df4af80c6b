"""Everything under ``/api/v1/``: each app contributes its own routes."""

from django.urls import include, path

urlpatterns = [
    path("", include("accounts.api.urls")),
    path("catalog/", include("catalog.api.urls")),
    path("", include("inventory.api.urls")),
    path("", include("orders.api.urls")),
    path("", include("takeover.api.urls")),
]
