from django.urls import path

from . import views

urlpatterns = [
    path("parts/<str:no>/", views.PartView.as_view(), name="catalog-part"),
    path("parts/<str:no>/refresh/", views.PartRefreshView.as_view(), name="catalog-part-refresh"),
    path("parts/<str:no>/colors/", views.PartColorsView.as_view(), name="catalog-part-colors"),
    path(
        "parts/<str:no>/colors/refresh/",
        views.PartColorsRefreshView.as_view(),
        name="catalog-part-colors-refresh",
    ),
    path(
        "parts/<str:no>/price-guide/",
        views.PriceGuideView.as_view(),
        name="catalog-price-guide",
    ),
    path(
        "parts/<str:no>/price-guide/refresh/",
        views.PriceGuideRefreshView.as_view(),
        name="catalog-price-guide-refresh",
    ),
    path("refresh/", views.BulkRefreshView.as_view(), name="catalog-refresh"),
    path("colors/", views.ColorListView.as_view(), name="catalog-colors"),
    path("categories/", views.CategoryListView.as_view(), name="catalog-categories"),
]
