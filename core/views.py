import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client.exposition import choose_encoder

from .exporter import scrape_registry
from .health import broker_check, database_check


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": database_check(), "broker": broker_check()}
    body = {name: "ok" if ok else "down" for name, ok in checks.items()}
    return JsonResponse(body, status=200 if all(checks.values()) else 503)


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition: every process's counters on this machine and the database
    gauges. Open unless ``METRICS_ALLOWED_IPS`` and/or ``METRICS_TOKEN`` restrict it."""
    if settings.METRICS_ALLOWED_IPS and not _address_allowed(request.META.get("REMOTE_ADDR")):
        return HttpResponse("Forbidden.\n", status=403, content_type="text/plain")
    if settings.METRICS_TOKEN and not _token_matches(request):
        response = HttpResponse("Bearer token required.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encoder(scrape_registry()), content_type=content_type)


def _address_allowed(address: str | None) -> bool:
    """REMOTE_ADDR only: a forwarded header is the client's to write."""
    try:
        client = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    for allowed in settings.METRICS_ALLOWED_IPS:
        try:
            if client in ipaddress.ip_network(allowed.strip(), strict=False):
                return True
        except ValueError:
            continue
    return False


def _token_matches(request: HttpRequest) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode(), settings.METRICS_TOKEN.encode()
    )
