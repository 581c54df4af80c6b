from django.urls import path

from . import files, views

urlpatterns = [
    path("inventory/items/", views.ItemListView.as_view(), name="inventory-items"),
    path("inventory/items/<int:item_id>/", views.ItemDetailView.as_view(), name="inventory-item"),
    path(
        "inventory/items/<int:item_id>/history/",
        views.ItemHistoryView.as_view(),
        name="inventory-item-history",
    ),
    path(
        "inventory/items/<int:item_id>/sync/",
        views.ItemSyncView.as_view(),
        name="inventory-item-sync",
    ),
    path("inventory/import/", files.ImportView.as_view(), name="inventory-import"),
    path("inventory/export/", files.ExportView.as_view(), name="inventory-export"),
    path("marketplaces/", views.ConnectionListView.as_view(), name="marketplaces"),
    path(
        "marketplaces/bricklink/",
        views.BrickLinkConnectionView.as_view(),
        name="marketplace-bricklink",
    ),
    path(
        "marketplaces/brickowl/",
        views.BrickOwlConnectionView.as_view(),
        name="marketplace-brickowl",
    ),
]
