import pytest
from django.core.management import call_command
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from config.schedules import project_schedules
from core import clock


@pytest.mark.django_db
def test_setup_schedules_creates_every_project_schedule_once():
    call_command("setup_schedules")
    call_command("setup_schedules")
    names = set(PeriodicTask.objects.values_list("name", flat=True))
    assert names == {schedule.name for schedule in project_schedules()}
    heartbeat = PeriodicTask.objects.get(task="core.heartbeat")
    assert heartbeat.enabled
    assert heartbeat.interval.every == 60


@pytest.mark.django_db
def test_setup_schedules_keeps_operator_edits_and_last_run():
    call_command("setup_schedules")
    task = PeriodicTask.objects.get(task="core.heartbeat")
    task.interval = IntervalSchedule.objects.create(every=300, period=IntervalSchedule.SECONDS)
    task.last_run_at = ran_at = clock.now()
    task.total_run_count = 7
    task.save()

    call_command("setup_schedules")
    task.refresh_from_db()
    assert task.interval.every == 300
    assert task.last_run_at == ran_at
    assert task.total_run_count == 7


@pytest.mark.django_db
def test_setup_schedules_keeps_a_task_the_operator_disabled():
    call_command("setup_schedules")
    PeriodicTask.objects.filter(task="core.heartbeat").update(enabled=False)
    call_command("setup_schedules")
    assert PeriodicTask.objects.get(task="core.heartbeat").enabled is False


@pytest.mark.django_db
def test_setup_schedules_reset_restores_the_defaults():
    call_command("setup_schedules")
    task = PeriodicTask.objects.get(task="core.heartbeat")
    task.enabled = False
    task.queue = "somewhere-else"
    task.save()

    call_command("setup_schedules")
    task.refresh_from_db()
    assert task.queue == "default"  # what the job is, is always brought up to date
    assert task.enabled is False

    call_command("setup_schedules", "--reset")
    task.refresh_from_db()
    assert task.enabled is True


@pytest.mark.django_db
def test_setup_schedules_copes_with_duplicate_schedules_made_in_the_admin():
    IntervalSchedule.objects.create(every=60, period=IntervalSchedule.SECONDS)
    IntervalSchedule.objects.create(every=60, period=IntervalSchedule.SECONDS)
    call_command("setup_schedules")
    assert PeriodicTask.objects.get(task="core.heartbeat").interval.every == 60
