from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from .breaker import breaker_record_success
from .config import UnknownLimit
from .models import Bucket, CircuitBreaker
from .selectors import rate_limit_status
from .services import rate_limit_reset


def describe_rule(rule) -> str:
    periods = {1: "second", 60: "minute", 3600: "hour", 86400: "day (00:00 UTC)"}
    period = periods.get(int(rule.period), f"{rule.period:g} s")
    kind = "fixed window" if rule.kind == "fixed_window" else "token bucket"
    capacity = f", capacity {rule.capacity:g}" if rule.capacity != rule.rate else ""
    shards = f", {rule.shards} shards" if rule.shards > 1 else ""
    return f"{kind}: {rule.rate:g} per {period}{capacity}{shards}"


@admin.register(Bucket)
class RateLimitAdmin(admin.ModelAdmin):
    """Every configured limit as it stands now, instead of a list of raw bucket rows."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_urls(self):
        reset = self.admin_site.admin_view(require_POST(self.reset_view))
        return [path("reset/", reset, name="ratelimit_bucket_reset"), *super().get_urls()]

    def changelist_view(self, request: HttpRequest, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        statuses = rate_limit_status()
        rows = [
            {"status": status, "rules": [(describe_rule(rule), rule) for rule in status.rules]}
            for status in statuses
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": "Rate limits",
            "opts": self.model._meta,
            "rows": rows,
            "can_reset": request.user.has_perm("ratelimit.delete_bucket"),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/ratelimit/status.html", context)

    def reset_view(self, request: HttpRequest):
        if not request.user.has_perm("ratelimit.delete_bucket"):
            raise PermissionDenied
        name, key = request.POST.get("name", ""), request.POST.get("key", "")
        try:
            rate_limit_reset(name=name, key=key)
        except UnknownLimit:
            self.message_user(request, f"No rate limit named {name!r}.", messages.ERROR)
        else:
            label = f"{name} [{key}]" if key else name
            self.message_user(request, f"{label} was reset: it grants in full again.")
        return HttpResponseRedirect(reverse("admin:ratelimit_bucket_changelist"))


@admin.register(CircuitBreaker)
class CircuitBreakerAdmin(admin.ModelAdmin):
    list_display = ["name", "state", "consecutive_failures", "opened_at", "open_until"]
    readonly_fields = [f.name for f in CircuitBreaker._meta.fields]
    actions = ["close_breakers"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Close the selected breakers (let calls through again)")
    def close_breakers(self, request: HttpRequest, queryset) -> None:
        for breaker in queryset:
            breaker_record_success(name=breaker.name)
        self.message_user(request, f"Closed {queryset.count()} breaker(s).")
