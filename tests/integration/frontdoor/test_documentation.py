"""The documentation a newcomer opens first: /docs offline, the bus's AsyncAPI document,
and an OpenAPI document that says what every refusal looks like."""

from __future__ import annotations

import json
import re
from typing import Any, get_args

from shared.bus import SUBSCRIPTIONS
from shared.contracts import (
    CHANNELS,
    CallEvent,
    ConsultationEvent,
    ConversationEvent,
    CustomerEvent,
    DeliveryStatus,
    InboundMessage,
    OutboundMessage,
    TicketEvent,
)
from shared.contracts.raw import RawWebhook
from tests.support import Platform

ERROR_REF = "#/components/schemas/ErrorResponse"


def local_asset_urls(page: str) -> list[str]:
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page)
    urls += re.findall(r"""url:\s*['"]([^'"]+)['"]""", page)
    return urls


async def test_docs_pages_load_every_asset_from_the_platform_itself(platform: Platform) -> None:
    for page in ("/docs", "/redoc"):
        response = await platform.http.get(page)
        assert response.status_code == 200
        assert "cdn." not in response.text and "googleapis" not in response.text, page
        urls = local_asset_urls(response.text)
        assets = [u for u in urls if u.startswith("/docs-assets/")]
        assert assets, page
        for url in urls:
            assert url.startswith("/"), f"{page} loads {url} from elsewhere"
            asset = await platform.http.get(url)
            assert asset.status_code == 200, url
            if url.endswith(".js"):
                assert len(asset.content) > 100_000, url


def concrete_routing_keys() -> set[str]:
    keys = {"ingest.raw", "inbound.ivr.call"}
    keys |= {f"inbound.{c}.{k}" for c in CHANNELS for k in ("message", "status")}
    keys |= {f"outbound.{c}.message" for c in CHANNELS}
    for family, model in (
        ("conversation", ConversationEvent),
        ("customer", CustomerEvent),
        ("ticket", TicketEvent),
        ("consultation", ConsultationEvent),
    ):
        keys |= {f"{family}.{a}" for a in get_args(model.model_fields["action"].annotation)}
    return keys


def resolve(doc: dict[str, Any], ref: str) -> Any:
    node: Any = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in refs(v)]
    return []


async def test_asyncapi_describes_every_routing_key_queue_and_contract(platform: Platform) -> None:
    response = await platform.http.get("/asyncapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["asyncapi"].startswith("3.")
    addresses = {c["address"] for c in doc["channels"].values()}
    assert concrete_routing_keys() <= addresses
    prefix = f"{platform.settings.bus_namespace}." if platform.settings.bus_namespace else ""
    for sub in SUBSCRIPTIONS:
        queue = f"{prefix}{sub.service}.{sub.topic}"
        [channel] = [c for c in doc["channels"].values() if c["address"] == queue]
        assert channel["x-routing-key-patterns"] == list(sub.patterns)
        assert channel["x-routing-keys"], f"{queue} binds no documented routing key"
        assert any(
            op["action"] == "receive" and resolve(doc, op["channel"]["$ref"]) is channel
            for op in doc["operations"].values()
        ), queue
    contracts = [
        RawWebhook,
        InboundMessage,
        DeliveryStatus,
        CallEvent,
        ConversationEvent,
        OutboundMessage,
        CustomerEvent,
        TicketEvent,
        ConsultationEvent,
    ]
    messages = doc["components"]["messages"]
    for model in contracts:
        message = messages[model.__name__]
        schema = resolve(doc, message["payload"]["$ref"])
        assert set(model.model_json_schema()["properties"]) == set(schema["properties"])
        assert message["examples"]
        for example in message["examples"]:
            model.model_validate(example["payload"])
    for key in concrete_routing_keys() - {"ingest.raw"}:
        [channel] = [c for c in doc["channels"].values() if c["address"] == key]
        [ref] = channel["messages"].values()
        examples = resolve(doc, ref["$ref"])["examples"]
        assert key in {e["name"] for e in examples}, key
    for ref in refs(doc):
        resolve(doc, ref)
    assert "guest" not in response.text, "the broker URL's credentials leaked"


async def test_asyncapi_page_renders_without_scripts(platform: Platform) -> None:
    page = await platform.http.get("/asyncapi")
    assert page.status_code == 200
    assert "<script" not in page.text
    assert "conversation.opened" in page.text and "RawWebhook" in page.text


async def test_openapi_documents_every_refusal_with_the_one_error_body(
    platform: Platform,
) -> None:
    schema = (await platform.http.get("/openapi.json")).json()
    paths = schema["paths"]
    take = paths["/api/conversations/{conversation_id}/take"]["post"]["responses"]
    for status in ("401", "403", "404", "409", "422"):
        body = take[status]["content"]["application/json"]
        assert body["schema"]["$ref"] == ERROR_REF, status
        assert body["example"]["error"]["code"]
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    # A refusal is not an operation: comments' PUT/PATCH/DELETE (always 405) are not listed.
    assert "/api/customers/{customer_id}/comments/{comment_id}" not in paths
    # What layers below the operations answer is documented on every operation.
    for operations in paths.values():
        for method, operation in operations.items():
            assert operation["responses"]["429"]["content"]["application/json"]["schema"] == {
                "$ref": ERROR_REF
            }, method
            if "requestBody" in operation:
                assert {"400", "413"} <= set(operation["responses"]), method
    assert "$defs" not in json.dumps(schema)
    printing = paths["/api/tables/{table}/print"]["get"]
    assert "413" in printing["responses"]
    [table] = [p for p in printing["parameters"] if p["name"] == "table"]
    assert set(table["schema"]["enum"]) == {
        "chats",
        "llamadas",
        "llamadas_ventas",
        "servicios",
        "consultas",
    }
    metrics = paths["/metrics"]["get"]["responses"]["200"]["content"]
    assert list(metrics) == ["text/plain"]  # Prometheus text, not JSON
    for channel in ("whatsapp", "messenger", "webchat", "ivr"):
        post = paths[f"/webhooks/{channel}"]["post"]
        [content] = post["requestBody"]["content"].values()
        assert content["schema"] and content["example"], channel
        for status in ("401", "413", "422", "503"):
            assert post["responses"][status]["content"]["application/json"]["schema"] == {
                "$ref": ERROR_REF
            }
