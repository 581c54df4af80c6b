from django.urls import path

from . import views

urlpatterns = [
    path(
        "marketplaces/<str:provider>/import/",
        views.StoreImportStartView.as_view(),
        name="marketplace-import",
    ),
    path("imports/<int:import_id>/", views.StoreImportView.as_view(), name="store-import"),
]
