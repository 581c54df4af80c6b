from django.urls import path

from .views import AuthTokenView, MeView

urlpatterns = [
    path("", MeView.as_view(), name="api-root"),
    path("auth/token/", AuthTokenView.as_view(), name="auth-token"),
]
