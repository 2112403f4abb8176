import importlib

from prometheus_client.metrics import MetricWrapperBase

from contactcenter.platform import SERVICE_NAMES
from tests.support import Platform


async def test_health_and_readiness_answer_when_broker_and_database_are_up(platform: Platform):
    assert (await platform.http.get("/healthz")).json() == {"status": "ok"}
    ready = await platform.http.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert (body["broker"], body["database"]) == (True, True)


async def test_readiness_says_which_channels_cannot_send_without_being_unready(
    platform: Platform,
):
    """The session platform has no provider credentials: replies wait, and /readyz says
    why, while the process stays ready (webhooks must keep flowing in)."""
    ready = await platform.http.get("/readyz")
    assert ready.status_code == 200
    delivery = ready.json()["delivery"]
    assert delivery["whatsapp"].startswith("paused: WHATSAPP_ACCESS_TOKEN")
    assert delivery["messenger"].startswith("paused: MESSENGER_PAGE_ACCESS_TOKEN")
    assert delivery["email"].startswith("paused: SMTP_HOST")
    metrics = (await platform.http.get("/metrics")).text
    assert 'cc_outbound_channel_paused{channel="whatsapp"} 1.0' in metrics


async def test_metrics_are_exposed_in_prometheus_text_format(platform: Platform):
    response = await platform.http.get("/metrics")
    assert response.status_code == 200
    assert "text/plain" in response.headers["content-type"]
    # Every service's own metrics, not only the client library's defaults (python_info...).
    for service in SERVICE_NAMES:
        module = importlib.import_module(f"services.{service}.metrics")
        declared = [m for m in vars(module).values() if isinstance(m, MetricWrapperBase)]
        assert declared, service
        for metric in declared:
            assert f"# HELP {metric._name}" in response.text, (service, metric._name)
