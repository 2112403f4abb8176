"""The credential detector: what is masked, what is left alone, and the sealed original."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.secrets import MASK, SecretBox, contains_secret, mask_secrets, secret_spans
from shared.text import fold, fold_with_positions

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "El usuario es vsanchez y la contraseña es: Rio2024!",
            f"El usuario es vsanchez y la contraseña es: {MASK}",
        ),
        ("La clave del wifi es Casa2024", f"La clave del wifi es {MASK}"),
        ("token que me llegó por SMS: 839201", f"token que me llegó por SMS: {MASK}"),
        ("mi clave sería Tango#55", f"mi clave sería {MASK}"),
        ("pin: 4821", f"pin: {MASK}"),
        ("PIN:4821", f"PIN:{MASK}"),
        ("mi contraseña es mariposa", f"mi contraseña es {MASK}"),
        (
            "la clave es Rio2024 y la del wifi es Casa2024",
            f"la clave es {MASK} y la del wifi es {MASK}",
        ),
        ("¿la clave es 1234?", f"¿la clave es {MASK}?"),
        ('{"password": "Rio2024"}', f'{{"password": "{MASK}"}}'),
        ("la clave es 4 5 6 7 nomás", f"la clave es {MASK} nomás"),
    ],
)
def test_the_value_after_a_keyword_is_masked(text: str, expected: str) -> None:
    assert mask_secrets(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "mi clave no funciona",
        "olvidé la contraseña del wifi",
        "mi número es +54 9 11 5555-0000, llamame",
        "Podés restablecer tu contraseña en towebs.com/mi-cuenta",
        "mi clave es incorrecta",
        "la contraseña es la misma de siempre",
        "el pin es de 4 dígitos",
        "mi DNI es 30.123.456 y mi CUIT 20-30123456-7",
        "pagué $1.500 el 12/05",
        "el código postal es 1425",
        "mi clave no anda desde 2023",
        "el PIN me lo dieron en la sucursal de Corrientes 1234",
        "Mi contraseña no anda y mi número es 1155550000",
    ],
)
def test_ordinary_words_phones_documents_amounts_and_dates_are_not_secrets(text: str) -> None:
    assert mask_secrets(text) == text
    assert not contains_secret(text)


def test_card_numbers_are_masked_only_when_they_pass_luhn() -> None:
    assert mask_secrets("mi tarjeta 4111 1111 1111 1111 vence 12/27") == (
        f"mi tarjeta {MASK} vence 12/27"
    )
    assert mask_secrets("mi tarjeta 4111111111111111") == f"mi tarjeta {MASK}"
    # Same shape, wrong check digit: a tracking or account number, not a card.
    assert mask_secrets("el envío 4111 1111 1111 1112 no llegó") == (
        "el envío 4111 1111 1111 1112 no llegó"
    )


@pytest.mark.parametrize(
    "text",
    [
        "contrase\u0303na: Abril2015x",  # n followed by a combining tilde
        "con\u200btraseña: Abril2015x",  # zero-width space inside the keyword
        "ＣＬＡＶＥ： Abril2015x",  # fullwidth letters and colon
        "CONTRASEÑA\u00a0: Abril2015x",  # no-break space
    ],
)
def test_keywords_are_recognised_in_any_unicode_spelling(text: str) -> None:
    masked = mask_secrets(text)
    assert masked is not None
    assert "Abril2015x" not in masked
    assert masked.endswith(MASK)


def test_masking_keeps_every_other_character_of_the_original() -> None:
    text = "Hola\u200b! la contrase\u0303na es Rio2024, gracias 😀"
    masked = mask_secrets(text)
    assert masked == f"Hola\u200b! la contrase\u0303na es {MASK}, gracias 😀"
    [(start, end)] = secret_spans(text)
    assert text[start:end] == "Rio2024"


def test_a_zero_width_character_inside_the_value_is_masked_with_it() -> None:
    text = "clave: Rio\u200b2024"
    assert mask_secrets(text) == f"clave: {MASK}"


def test_masking_is_idempotent() -> None:
    for text in ("la contraseña es Rio2024!", "pin 4821 y clave: Casa2024", "hola"):
        once = mask_secrets(text)
        assert mask_secrets(once) == once
        assert not contains_secret(once)


def test_pathological_input_is_scanned_without_backtracking_blowup() -> None:
    # Thousands of keywords, separators and digit runs: each keyword's scan is bounded.
    text = ("clave: " * 2000) + ("1" * 5000) + " " + ("pin es a@" * 2000) + ("4" * 19 + " ") * 200
    masked = mask_secrets(text)
    assert masked is not None and MASK in masked


def test_fold_maps_every_spelling_to_one_form_and_back_to_positions() -> None:
    assert fold("CONTRASE\u0303NA") == "contrasena"
    assert fold("con\u200btraseña") == "contrasena"
    folded, positions = fold_with_positions("aÑ\u200bb")
    assert folded == "anb"
    assert positions == [0, 1, 3]


def test_secret_box_seals_only_what_masking_changed() -> None:
    box = SecretBox("unit-test-key")
    masked, sealed = box.mask("la clave es Rio2024")
    assert masked == f"la clave es {MASK}"
    assert sealed is not None and "Rio2024" not in sealed
    assert box.open(sealed) == "la clave es Rio2024"
    assert box.mask("hola, buen día") == ("hola, buen día", None)
    assert box.mask(None) == (None, None)
    with pytest.raises(ValueError):
        SecretBox("another-key").open(sealed)


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_laras_own_answers_are_never_masked() -> None:
    # "Podés restablecer tu contraseña desde towebs.com/mi-cuenta con "¿Olvidaste tu
    # contraseña?"..." was stored with two masks in it.
    faq = json.loads((ROOT / "services" / "routing" / "faq.json").read_text(encoding="utf-8"))
    answers = _strings(faq)
    assert any("contraseña" in a for a in answers)
    assert [a for a in answers if mask_secrets(a) != a] == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("usuario: jmartinez contraseña: jm.2021.ar", "jm.2021.ar"),
        ("mi clave actual es 2468 y la nueva quiero que sea 1357", "1357"),
        ("clave vieja: Luna2019 / clave nueva: Luna2025", "Luna2019"),
        ("el código q me llegó al cel es 448 921", "921"),
    ],
)
def test_harder_phrasings_leave_no_value_readable(text: str, value: str) -> None:
    masked = mask_secrets(text)
    assert value not in masked


@pytest.mark.parametrize(
    "text",
    [
        "el PIN no es obligatorio en el modelo AX3000",
        "el código de la falla es E-21",
        'Podés restablecer tu contraseña con "¿Olvidaste tu contraseña?": te llega un enlace',
    ],
)
def test_model_names_fault_codes_and_quoted_labels_are_not_secrets(text: str) -> None:
    assert mask_secrets(text) == text
