"""How the console tests sign in: with a token of `contactcenter token`, in the sign-in
page's token section (people sign in with user and password: test_accounts_console.py)."""

from __future__ import annotations

from typing import Any


async def sign_in_with_token(page: Any, token: str) -> None:
    await page.get_by_text("Con un token de acceso").click()
    await page.get_by_label("Token de acceso (JWT)").fill(token)
    await page.get_by_role("button", name="Ingresar con el token").click()
