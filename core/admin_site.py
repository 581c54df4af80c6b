"""The admin site, with the queue dashboard beside the model pages."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.apps import AdminConfig
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_POST

# This module is imported while the app registry loads (it names the admin's AppConfig): the
# models are imported inside the views.


class BrickopsAdminSite(admin.AdminSite):
    site_header = "brickops operations"
    site_title = "brickops"
    index_title = "Operations"
    index_template = "admin/brickops_index.html"

    def get_urls(self):
        return [
            path("queue/", self.admin_view(self.queue_dashboard), name="queue_dashboard"),
            path("queue/drain/", self.admin_view(require_POST(self.drain_now)), name="queue_drain"),
            *super().get_urls(),
        ]

    def queue_dashboard(self, request: HttpRequest):
        from .dashboard import queue_overview

        if not request.user.has_perm("catalog.view_refreshjob"):
            raise PermissionDenied
        context = {
            **self.each_context(request),
            "title": "Queue dashboard",
            "overview": queue_overview(),
            "can_drain": request.user.has_perm("catalog.change_refreshjob"),
        }
        return TemplateResponse(request, "admin/queue_dashboard.html", context)

    def drain_now(self, request: HttpRequest):
        from catalog.services import refresh_drain

        if not request.user.has_perm("catalog.change_refreshjob"):
            raise PermissionDenied
        run = refresh_drain()
        messages.success(request, drain_message(run))
        return HttpResponseRedirect(reverse("admin:queue_dashboard"))


def drain_message(run) -> str:
    return (
        f"Drain ran in {run.duration_ms} ms: {run.reclaimed} expired lease(s) reclaimed, "
        f"{run.dispatched} due row(s) sent to the workers."
    )


class BrickopsAdminConfig(AdminConfig):
    default_site = "core.admin_site.BrickopsAdminSite"
