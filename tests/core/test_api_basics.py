import pytest
from rest_framework.test import APIRequestFactory

from core.pagination import PageNumberPagination


@pytest.mark.django_db
def test_openapi_schema_and_docs_are_served(api_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    document = schema.json()
    assert document["openapi"].startswith("3.")
    assert "/api/v1/auth/token/" in document["paths"]
    docs = api_client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content


def test_pagination_caps_the_page_size(settings):
    paginator = PageNumberPagination()
    request = APIRequestFactory().get("/", {"page_size": 100_000})
    from rest_framework.request import Request

    page = paginator.paginate_queryset(list(range(2000)), Request(request))
    assert len(page) == settings.API_MAX_PAGE_SIZE
    response = paginator.get_paginated_response(page)
    assert set(response.data) == {"count", "next", "previous", "results"}
    assert response.data["count"] == 2000
