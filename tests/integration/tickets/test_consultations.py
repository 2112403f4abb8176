from tests.integration.tickets.helpers import unique
from tests.support import Platform, eventually


def _portal(platform: Platform) -> dict[str, str]:
    return {"Authorization": f"Bearer {platform.settings.portal_token}"}


def _form(**overrides) -> dict:
    form = {
        "name": "Íñigo Fernández",
        "document_number": "30.555.777",
        "email": "inigo@example.com",
        "subject": "Factura duplicada",
        "text": "Me llegaron dos facturas este mes.",
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


async def _post(platform: Platform, **overrides) -> dict:
    response = await platform.http.post(
        "/api/consultations", json=_form(**overrides), headers=_portal(platform)
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_portal_form_without_or_with_a_wrong_token_is_401(platform: Platform):
    missing = await platform.http.post("/api/consultations", json=_form())
    wrong = await platform.http.post(
        "/api/consultations", json=_form(), headers={"Authorization": "Bearer nope"}
    )
    staff_jwt = await platform.http.post(
        "/api/consultations", json=_form(), headers=platform.auth("ana", "admin")
    )
    assert [missing.status_code, wrong.status_code, staff_jwt.status_code] == [401, 401, 401]


async def test_portal_form_needs_an_email_or_a_phone(platform: Platform):
    response = await platform.http.post(
        "/api/consultations", json=_form(email=None), headers=_portal(platform)
    )
    assert response.status_code == 422
    assert "email address or a phone" in response.text


async def test_portal_form_rejects_malformed_contact_data_and_oversized_text(platform: Platform):
    bad = [
        _form(email="no-es-un-mail"),
        _form(email=None, phone="abc"),
        _form(text=""),
        _form(text="x" * 4001),
        _form(subject="   "),
        _form(name="x" * 201),
        _form(document_number="??"),
    ]
    for body in bad:
        response = await platform.http.post(
            "/api/consultations", json=body, headers=_portal(platform)
        )
        assert response.status_code == 422, body


async def test_portal_form_is_stored_open_and_published(platform: Platform):
    consultation = await _post(platform, email=None, phone="+54 9 11 5555-0000")
    assert consultation["status"] == "abierta"
    assert consultation["phone"] == "+54 9 11 5555-0000"
    outbox = platform.db("tickets")["outbox"]

    async def published():
        return await outbox.find_one(
            {
                "routing_key": "consultation.created",
                "body.consultation.consultation_id": consultation["consultation_id"],
                "published": True,
            }
        )

    assert await eventually(published)


async def test_staff_list_defaults_to_open_and_searches_without_accents(platform: Platform):
    surname = unique("Peña").replace("-", "")
    first = await _post(platform, name=f"Ana {surname}")
    second = await _post(platform, name=f"Bea {surname}")
    await platform.http.post(
        f"/api/consultations/{second['consultation_id']}/close", headers=platform.auth()
    )
    q = surname.replace("ñ", "n").upper()
    listed = await platform.http.get("/api/consultations", params={"q": q}, headers=platform.auth())
    assert listed.status_code == 200
    assert [c["consultation_id"] for c in listed.json()["items"]] == [first["consultation_id"]]
    everything = await platform.http.get(
        "/api/consultations", params={"q": q, "estado": "todos"}, headers=platform.auth()
    )
    assert everything.json()["total"] == 2


async def test_agents_may_not_read_consultations(platform: Platform):
    response = await platform.http.get("/api/consultations", headers=platform.auth("l", "agent"))
    assert response.status_code == 403


async def test_answer_is_recorded_with_the_channel_used(platform: Platform):
    consultation = await _post(platform)
    cid = consultation["consultation_id"]
    answered = await platform.http.post(
        f"/api/consultations/{cid}/answer",
        json={"text": "Ya anulamos la factura duplicada.", "channel": "email"},
        headers=platform.auth("ana", "staff"),
    )
    assert answered.status_code == 200, answered.text
    body = answered.json()
    assert body["status"] == "respondida"
    assert body["answer_channel"] == "email"
    assert body["answered_by"] == "staff:ana"
    fetched = await platform.http.get(f"/api/consultations/{cid}", headers=platform.auth())
    assert fetched.json()["answer_text"] == "Ya anulamos la factura duplicada."


async def test_answering_by_whatsapp_without_a_phone_is_422(platform: Platform):
    consultation = await _post(platform)
    response = await platform.http.post(
        f"/api/consultations/{consultation['consultation_id']}/answer",
        json={"text": "hola", "channel": "whatsapp"},
        headers=platform.auth(),
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "contact_missing"
    assert "phone" in error["details"][0]["message"]


async def test_a_closed_consultation_cannot_be_answered(platform: Platform):
    consultation = await _post(platform)
    cid = consultation["consultation_id"]
    closed = await platform.http.post(f"/api/consultations/{cid}/close", headers=platform.auth())
    assert closed.json()["status"] == "cerrada"
    response = await platform.http.post(
        f"/api/consultations/{cid}/answer",
        json={"text": "hola", "channel": "email"},
        headers=platform.auth(),
    )
    assert response.status_code == 409


async def test_consultation_turns_into_a_technical_service_once(platform: Platform):
    consultation = await _post(platform)
    cid = consultation["consultation_id"]
    response = await platform.http.post(
        f"/api/consultations/{cid}/service",
        json={"reason": "revisar facturación"},
        headers=platform.auth("ana", "staff"),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    service = body["service"]
    assert body["consultation"]["status"] == "genero_servicio_tecnico"
    assert body["consultation"]["service_number"] == service["number"]
    assert service["status"] == "pendiente"
    assert service["customer_name"] == "Íñigo Fernández"
    assert service["consultation_id"] == cid

    again = await platform.http.post(
        f"/api/consultations/{cid}/service", json={"reason": "otra"}, headers=platform.auth()
    )
    assert again.status_code == 409

    outbox = platform.db("tickets")["outbox"]

    async def converted():
        return await outbox.find_one(
            {"routing_key": "consultation.converted", "body.consultation.consultation_id": cid}
        )

    assert await eventually(converted)


async def test_unknown_consultation_is_404(platform: Platform):
    response = await platform.http.get("/api/consultations/nope", headers=platform.auth())
    assert response.status_code == 404
