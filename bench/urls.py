"""The project's URLs plus the floor of the read benchmark: the same single-row SELECT a
catalog read needs, answered as JSON, with no authentication, throttling, cache or envelope."""

from django.http import HttpRequest, JsonResponse
from django.urls import include, path

from catalog.models import Part


def bare_part(request: HttpRequest, no: str) -> JsonResponse:
    row = Part.objects.filter(no=no).values().first()
    return JsonResponse({"data": row})


urlpatterns = [
    path("bench/bare/parts/<str:no>/", bare_part),
    path("", include("config.urls")),
]
