"""Proof that a webhook comes from its channel, checked on the raw bytes in constant time.

Meta signs the body exactly as sent (non-ASCII escaped as \\uXXXX): never verify a
re-serialized body. Twilio signs the public URL it called plus the sorted POST params.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit, urlunsplit

# Meta sends lowercase hex; anything else (sha1=, uppercase, truncated) is not its signature.
_META_HEADER = re.compile(r"sha256=([0-9a-f]{64})")


def verify_meta(secret: str, raw_body: bytes, header: str | None) -> bool:
    """True when `X-Hub-Signature-256` is the HMAC-SHA256 of exactly these bytes."""
    if not header or not secret:
        return False
    match = _META_HEADER.fullmatch(header.strip())
    if match is None:
        return False
    expected = hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, match.group(1))


def verify_bearer(token: str, authorization: str | None) -> bool:
    """True when `Authorization: Bearer <token>` carries exactly the configured token."""
    if not authorization or not token:
        return False
    scheme, _, given = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


def twilio_digest(token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """Base64 HMAC-SHA1 of the URL followed by every `name+value`, sorted (Twilio's scheme)."""
    payload = url + "".join(k + v for k, v in sorted(params))
    digest = hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def url_variants(url: str) -> list[str]:
    """The URL as given, with and without its scheme's default port (Twilio may sign either)."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    variants = [url]
    host = parts.hostname or ""
    if parts.username or parts.password:
        # Credentials in the URL are signed as sent; do not rebuild the netloc.
        return variants
    if parts.port is None and default is not None:
        variants.append(urlunsplit(parts._replace(netloc=f"{host}:{default}")))
    elif parts.port == default:
        variants.append(urlunsplit(parts._replace(netloc=host)))
    return variants


def verify_twilio(
    token: str,
    urls: Iterable[str],
    params: Iterable[tuple[str, str]],
    header: str | None,
) -> bool:
    """True when `X-Twilio-Signature` matches one of the candidate URLs (with/without port)."""
    if not header or not token:
        return False
    items = list(params)
    given = header.strip().encode()
    matched = False
    for candidate in urls:
        for url in url_variants(candidate):
            # Evaluate every candidate: the time spent does not reveal which one matched.
            if hmac.compare_digest(twilio_digest(token, url, items).encode(), given):
                matched = True
    return matched


def body_sha256_matches(raw_body: bytes, query: Mapping[str, str]) -> bool:
    """For Twilio JSON bodies: the `bodySHA256` query parameter is the hash of the raw body."""
    claimed = query.get("bodySHA256")
    if not claimed:
        return False
    return hmac.compare_digest(hashlib.sha256(raw_body).hexdigest(), claimed.lower())
