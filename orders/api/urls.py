from django.urls import path

from . import views

urlpatterns = [
    path("orders/", views.OrderListView.as_view(), name="orders"),
    path("orders/sync/", views.OrdersSyncView.as_view(), name="orders-sync"),
    path("orders/picklist/", views.PicklistView.as_view(), name="orders-picklist"),
    path("orders/<int:order_id>/", views.OrderDetailView.as_view(), name="order"),
    path(
        "orders/<int:order_id>/lines/<int:line_id>/pick/",
        views.PickView.as_view(),
        name="order-line-pick",
    ),
    path("hooks/bricklink/<str:secret>/", views.BrickLinkHookView.as_view(), name="hook-bricklink"),
    path("hooks/brickowl/<str:secret>/", views.BrickOwlHookView.as_view(), name="hook-brickowl"),
]
