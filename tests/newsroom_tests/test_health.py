"""/sante/ tells load balancers and monitors whether the site can serve
(database, cache) and whether mail goes out (worker heartbeat, waiting tasks)."""

import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from newsroom.management.commands.worker import beat
from newsroom.models import WorkerHeartbeat

pytestmark = pytest.mark.django_db
HEALTH = reverse("health")
DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.backend.DatabaseBackend"}}


def test_without_a_worker_the_site_is_ready_but_degraded(client, settings):
    """No heartbeat: 200 (pages work), status « degraded », nothing cached or secret."""
    response = client.get(HEALTH)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["database"]["ok"] and body["cache"]["ok"]
    assert body["worker"] == {"ok": False, "last_heartbeat_seconds": None}
    assert body["tasks"] == {"pending": 0, "oldest_pending_seconds": None}
    assert "no-store" in response["Cache-Control"]
    assert not response.cookies
    text = response.content.decode()
    for secret in (settings.SECRET_KEY, connection.settings_dict["NAME"], "postgres"):
        assert secret not in text


def test_a_worker_that_beats_makes_it_ok_and_one_that_stopped_does_not(client, settings):
    """A heartbeat within three intervals: ok; older: degraded."""
    beat("machine:1")
    body = client.get(HEALTH).json()
    assert body["status"] == "ok" and body["worker"]["ok"] is True
    assert 0 <= body["worker"]["last_heartbeat_seconds"] < 5

    WorkerHeartbeat.objects.update(
        seen_at=WorkerHeartbeat.objects.get().seen_at
        - timedelta(seconds=4 * settings.WORKER_HEARTBEAT_SECONDS)
    )
    body = client.get(HEALTH).json()
    assert body["status"] == "degraded" and body["worker"]["ok"] is False


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_worker_command_beats_and_waiting_tasks_are_counted(client, settings):
    """`manage.py worker` records a heartbeat; a task waiting in the queue is
    counted with its age until a worker runs it."""
    from newsletter.tasks import send_confirmation_task
    from tests.factories import make_subscriber

    settings.TASKS = DATABASE_TASKS
    send_confirmation_task.enqueue(make_subscriber().pk)
    tasks = client.get(HEALTH).json()["tasks"]
    assert tasks["pending"] == 1 and tasks["oldest_pending_seconds"] >= 0

    call_command("worker", "--batch", "--no-startup-delay", verbosity=0)
    body = client.get(HEALTH).json()
    assert WorkerHeartbeat.objects.count() == 1
    assert body["worker"]["ok"] is True
    assert body["tasks"]["pending"] == 0


def test_a_cache_that_does_not_answer_makes_it_not_ready(client, settings):
    """The cache down: 503, the error named but not detailed."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    response = client.get(HEALTH)
    assert response.status_code == 503
    body = json.loads(response.content)
    assert body["status"] == "down"
    assert body["cache"] == {"ok": False, "ms": None, "error": "ConnectionError"}
    assert "127.0.0.1" not in response.content.decode()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_database_that_does_not_answer_makes_it_not_ready(client):
    """The database down: 503 from /sante/, while /sante/vivant/ still answers."""
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update({"HOST": "127.0.0.1", "PORT": "1"})
    try:
        response = client.get(HEALTH)
        alive = client.get(reverse("liveness"))
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down" and body["database"]["ok"] is False
    assert body["database"]["error"] == "OperationalError"
    # Liveness asks nothing of the database: the process itself is fine.
    assert alive.status_code == 200 and alive.json() == {"status": "ok"}


def test_liveness_makes_no_query(client, django_assert_num_queries):
    """Liveness touches neither the database nor the cache."""
    with django_assert_num_queries(0):
        response = client.get(reverse("liveness"))
    assert response.json() == {"status": "ok"}
