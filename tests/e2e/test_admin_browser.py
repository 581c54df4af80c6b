"""The operator's console in a real browser: Debian's Chromium, driven by Playwright, against
the app served by a live server. Log in, open the queue dashboard from the admin's front page,
go to the refresh outbox, and revive a failed refresh with "Retry now"."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from catalog import work as catalog_work
from catalog.models import JobStatus, Priority, RefreshJob
from core import clock
from tests.harness import ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
SCREENSHOT = ROOT / "bench" / "results" / "admin_e2e.png"
DASHBOARD_SCREENSHOT = ROOT / "bench" / "results" / "admin_e2e_dashboard.png"
PASSWORD = "correct-horse-battery-staple"  # a throwaway test login
ERROR = {"code": "transient", "message": "HTTP 503 from BrickLink", "at": "2026-11-23T10:00:00Z"}


def outbox_row(no: str, status: str, *, attempts: int = 0, error=None) -> RefreshJob:
    now = clock.now()
    return RefreshJob.objects.create(
        kind="part",
        no=no,
        resource=f"part:{no}",
        status=status,
        priority=Priority.NORMAL,
        attempts=attempts,
        last_error=error,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
        processed_at=now if status in (JobStatus.SUCCEEDED, JobStatus.FAILED) else None,
    )


@pytest.fixture
def sent(monkeypatch):
    """What "Retry now" sends to the workers. Recorded, not sent: a worker of the session
    (other tests') would otherwise take the row at once, and the row's state in the database
    is what this test checks. The live server runs in a thread of this process, so the
    recorder is what its admin action calls."""
    published: list[tuple[int, int]] = []
    monkeypatch.setattr(
        catalog_work,
        "publish_refresh",
        lambda job_id, priority, countdown=None: published.append((job_id, priority)),
    )
    return published


def test_an_operator_retries_a_failed_refresh_from_the_browser(
    live_server, transactional_db, django_user_model, sent
):
    if not Path(CHROMIUM).exists() or not shutil.which("chromium"):
        pytest.fail("Chromium is missing: `make test` installs it (apt-get install -y chromium)")
    django_user_model.objects.create_superuser("operator", "ops@example.com", PASSWORD)
    failed = outbox_row("3001", JobStatus.FAILED, attempts=6, error=ERROR)
    outbox_row("3003", JobStatus.SUCCEEDED)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)

    # No ORM call while the browser runs: Playwright's sync API keeps an event loop running
    # in this thread, where Django refuses synchronous database access.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 900})
            page.set_default_timeout(15_000)

            page.goto(f"{live_server.url}/admin/")
            expect(page).to_have_url(f"{live_server.url}/admin/login/?next=/admin/")
            page.fill("#id_username", "operator")
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            expect(page).to_have_url(f"{live_server.url}/admin/")

            # The dashboard, linked from the front page: one failed row in the outbox.
            page.click("#queue-dashboard-link >> text=Queue dashboard")
            expect(page).to_have_url(f"{live_server.url}/admin/queue/")
            expect(page.locator("#outbox-counts th[data-status=failed]")).to_have_text("1")

            # The outbox, from the dashboard; select the failed row and run "Retry now".
            page.click("#content-main >> text=Refresh outbox")
            expect(page).to_have_url(f"{live_server.url}/admin/catalog/refreshjob/")
            row = page.locator(
                "#result_list tbody tr",
                has=page.locator(f"input.action-select[value='{failed.pk}']"),
            )
            expect(row.locator("td.field-status")).to_have_text("failed")
            expect(row.locator("td.field-attempts")).to_have_text("6")
            row.locator("input.action-select").check()
            page.select_option("select[name=action]", "retry_now")
            page.click("button[name=index]")

            # The action reports what it did (message_user, at the INFO level).
            expect(page.locator("ul.messagelist li")).to_have_text(
                "1 row(s) sent to the workers now."
            )
            expect(row.locator("td.field-status")).to_have_text("pending")
            expect(row.locator("td.field-attempts")).to_have_text("0")
            page.screenshot(path=str(SCREENSHOT), full_page=True)

            # And the dashboard agrees: nothing failed, the row waits for a worker.
            page.goto(f"{live_server.url}/admin/queue/")
            expect(page.locator("#outbox-counts th[data-status=failed]")).to_have_text("0")
            expect(page.locator("#outbox-counts th[data-status=pending]")).to_have_text("1")
            page.screenshot(path=str(DASHBOARD_SCREENSHOT), full_page=True)
        finally:
            browser.close()

    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.processed_at) == (JobStatus.PENDING, 0, None)
    assert failed.next_attempt_at <= clock.now()
    assert sent == [(failed.pk, Priority.NORMAL)]
    assert SCREENSHOT.stat().st_size > 10_000
