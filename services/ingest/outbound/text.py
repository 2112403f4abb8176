"""Replies within the providers' documented length limits: a long reply goes as ordered
parts, each cut where a reader would pause, never a request the provider refuses for length."""

from __future__ import annotations

# Messenger refuses a text over 2,000 characters (the Send API accepts up to 4,096 and
# Messenger then drops it); a WhatsApp media caption holds at most 1,024.
MESSENGER_TEXT_MAX = 2000
WHATSAPP_CAPTION_MAX = 1024

# Where to cut, best first: a paragraph, a line, a sentence, a word. A boundary only counts
# in the second half of a part, so no part is left tiny.
BOUNDARIES = ("\n\n", "\n", ". ", " ")


def split_text(text: str, limit: int) -> list[str]:
    """`text` as parts of at most `limit` characters, in reading order."""
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[:limit]
        cut = limit
        for boundary in BOUNDARIES:
            at = window.rfind(boundary)
            if at >= limit // 2:
                cut = at + (1 if boundary == ". " else 0)  # the period stays with its sentence
                break
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts
