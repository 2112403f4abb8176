"""Customer rules, free of I/O: validation, normalization, search keys, merge and tag rules.

Everything here is plain data in, plain data out, so the rules that decide what a channel may
fill in, what a staff edit may contain, how a phone written any way is found again, and what a
merge must remember to be undone are tested in microseconds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from shared.text import fold_words

# ---------------------------------------------------------------------------------------------
# Domain errors (mapped to HTTP status codes in api.py, in one place)
# ---------------------------------------------------------------------------------------------


class CustomerError(Exception):
    """Base of every refusal of the customers domain."""


class CustomerNotFound(CustomerError):
    pass


class IdentityNotFound(CustomerError):
    pass


class MergeNotFound(CustomerError):
    pass


class InvalidField(CustomerError):
    """A profile value that cannot be accepted; `field` names it for a clear 422."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class UnknownTag(CustomerError):
    pass


class NoteRequired(CustomerError):
    pass


class AlreadyTagged(CustomerError):
    pass


class NotTagged(CustomerError):
    pass


class TagExists(CustomerError):
    pass


class CustomerMerged(CustomerError):
    """The customer was absorbed by a merge: act on the survivor instead."""


class CustomerAnonymized(CustomerError):
    pass


class MergeRefused(CustomerError):
    pass


class UnmergeRefused(CustomerError):
    pass


class CommentsAreImmutable(CustomerError):
    pass


class CaseNotFound(CustomerError):
    """No conversation of this customer (or of those it absorbed) is that case."""


class CaseCancelled(CustomerError):
    """A cancelled case takes no more comments (its comments were deleted with it)."""


# ---------------------------------------------------------------------------------------------
# Profile
# ---------------------------------------------------------------------------------------------

#: Fields staff may edit through PATCH /api/customers/{id}.
EDITABLE_FIELDS: tuple[str, ...] = (
    "first_name",
    "last_name",
    "display_name",
    "company",
    "gender",
    "email",
    "mobile_phone",
    "home_phone",
    "document_number",
    "notes",
)

#: Personal fields erased by anonymization.
PERSONAL_FIELDS: tuple[str, ...] = (*EDITABLE_FIELDS, "extra")

SEED_TAGS: tuple[tuple[str, str], ...] = (
    ("abusador_de_bonos", "Abusador de bonos"),
    ("usuario_vpn", "Usuario de VPN, país restringido"),
    ("reclamaciones_constantes", "Reclamaciones constantes"),
    ("svip", "SVIP"),
    ("cliente_grosero", "Cliente grosero"),
    ("fraude", "Fraude"),
)

TAG_SLUG = re.compile(r"^[a-z0-9][a-z0-9_]{1,47}$")
FIELD_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
EXTRA_FIELD_TYPES = ("text", "number", "boolean", "date")
ANONYMIZED_TEXT = "[anonimizado]"

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}$")
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")
_PHONE_PUNCTUATION = re.compile(r"[\s\-().]")
_MAX_LENGTH = {"notes": 4000}


# Lowercase, accents stripped, whitespace collapsed: `"  José  PÉREZ"` → `"jose perez"`
# (the project's one folding, shared/text.py).
fold = fold_words


def digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def normalize_e164(field: str, raw: str) -> str:
    """Accept a phone written with spaces, dashes, dots or parentheses and a leading `+` or
    `00`; return it as E.164 (`+5491155550000`) or refuse with a message that says how."""
    compact = _PHONE_PUNCTUATION.sub("", raw.strip())
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if not compact.startswith("+"):
        raise InvalidField(
            field,
            "not a phone number of the default country nor an international one: write it "
            "as (011) 4555-1234 or in E.164 form with the country code, e.g. +5491155550000",
        )
    if not _E164.match(compact):
        raise InvalidField(
            field,
            "not a valid E.164 phone number: '+' then 8 to 15 digits, e.g. +5491155550000",
        )
    return compact


# Calling code and national trunk prefix of the countries a deployment may default to.
COUNTRY_PHONE_PLANS: dict[str, tuple[str, str]] = {
    "AR": ("54", "0"),
    "UY": ("598", "0"),
    "PY": ("595", "0"),
    "BR": ("55", "0"),
    "PE": ("51", "0"),
    "CL": ("56", ""),
    "MX": ("52", ""),
    "CO": ("57", ""),
    "ES": ("34", ""),
    "US": ("1", "1"),
}


def _argentine_national(national: str) -> str | None:
    """An Argentine number without the trunk `0`: 10 digits (area code + subscriber), a
    mobile written with `15` after the area code (12 digits) or already with the `9`."""
    if len(national) == 10:
        return national
    if len(national) == 11 and national.startswith("9"):
        return national
    if len(national) == 12:
        for area in (2, 3, 4):
            if national[area : area + 2] == "15":
                return "9" + national[:area] + national[area + 2 :]
    return None


def local_to_e164(raw: str, country: str) -> str | None:
    """A phone written the local way (`(011) 4555-1234`, `011 15 5555-0000`) as E.164
    (`+541145551234`, `+5491155550000`) in `country`'s numbering plan; None when it is not
    a local number of that country (international numbers are left to `normalize_e164`)."""
    plan = COUNTRY_PHONE_PLANS.get(country.upper())
    compact = _PHONE_PUNCTUATION.sub("", raw.strip())
    if plan is None or not compact.isdigit() or compact.startswith("00"):
        return None
    code, trunk = plan
    national = compact[len(trunk) :] if trunk and compact.startswith(trunk) else compact
    if country.upper() == "AR":
        national = _argentine_national(national) or ""
    candidate = f"+{code}{national}"
    return candidate if national and _E164.match(candidate) else None


def localize_phones(changes: Mapping[str, Any], country: str) -> dict[str, Any]:
    """The edit with each phone written the local way rewritten as E.164, so a staff member
    types numbers as people say them; anything else is left for validation to judge."""
    localized = dict(changes)
    for field in ("mobile_phone", "home_phone"):
        value = localized.get(field)
        if isinstance(value, str) and (e164 := local_to_e164(value, country)):
            localized[field] = e164
    return localized


def normalize_email(raw: str) -> str:
    value = raw.strip()
    if not _EMAIL.match(value) or ".." in value:
        raise InvalidField("email", "not a valid email address, e.g. nombre@ejemplo.com")
    local, domain = value.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def normalize_document(raw: str) -> str:
    """Document numbers keep their letters and digits; dots, dashes and spaces go."""
    return "".join(c for c in raw.strip().upper() if c.isalnum())


def validate_profile_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and normalize a staff edit. `None` or blank clears a field.

    Raises `InvalidField` for the first field that cannot be accepted.
    """
    clean: dict[str, Any] = {}
    for field, value in changes.items():
        if field not in EDITABLE_FIELDS:
            raise InvalidField(field, "unknown profile field")
        if value is None or (isinstance(value, str) and not value.strip()):
            clean[field] = None
            continue
        if not isinstance(value, str):
            raise InvalidField(field, "must be text")
        limit = _MAX_LENGTH.get(field, 200)
        if len(value) > limit:
            raise InvalidField(field, f"at most {limit} characters")
        if field == "email":
            clean[field] = normalize_email(value)
        elif field in ("mobile_phone", "home_phone"):
            clean[field] = normalize_e164(field, value)
        elif field == "document_number":
            document = normalize_document(value)
            if not document:
                raise InvalidField(field, "must contain letters or digits")
            clean[field] = document
        else:
            clean[field] = value.strip() if field != "notes" else value
    return clean


@dataclass(frozen=True)
class ExtraField:
    """An admin-defined profile field (e.g. `numero_de_cliente`, text)."""

    key: str
    label: str
    type: str = "text"


def validate_field_definitions(definitions: Iterable[Mapping[str, Any]]) -> list[ExtraField]:
    fields: list[ExtraField] = []
    seen: set[str] = set()
    for raw in definitions:
        key = str(raw.get("key", ""))
        if not FIELD_KEY.match(key):
            raise InvalidField("key", f"{key!r}: lowercase letters, digits and '_', max 40")
        if key in EDITABLE_FIELDS or key in seen:
            raise InvalidField("key", f"{key!r} is defined twice or is a built-in field")
        kind = str(raw.get("type", "text"))
        if kind not in EXTRA_FIELD_TYPES:
            raise InvalidField("type", f"{kind!r}: expected one of {', '.join(EXTRA_FIELD_TYPES)}")
        label = str(raw.get("label") or key)
        seen.add(key)
        fields.append(ExtraField(key=key, label=label[:100], type=kind))
    return fields


def validate_extra(values: Mapping[str, Any], definitions: Iterable[ExtraField]) -> dict[str, Any]:
    by_key = {f.key: f for f in definitions}
    clean: dict[str, Any] = {}
    for key, value in values.items():
        definition = by_key.get(key)
        if definition is None:
            raise InvalidField(f"extra.{key}", "no such customer field is configured")
        if value is None:
            clean[key] = None
        elif definition.type == "number":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidField(f"extra.{key}", "must be a number")
            clean[key] = value
        elif definition.type == "boolean":
            if not isinstance(value, bool):
                raise InvalidField(f"extra.{key}", "must be true or false")
            clean[key] = value
        elif definition.type == "date":
            if not isinstance(value, str) or not re.match(r"^\d{4}-\d{2}-\d{2}$", value):
                raise InvalidField(f"extra.{key}", "must be a date as YYYY-MM-DD")
            clean[key] = value
        else:
            if not isinstance(value, str) or len(value) > 500:
                raise InvalidField(f"extra.{key}", "must be text of at most 500 characters")
            clean[key] = value
    return clean


def split_name(name: str) -> tuple[str | None, str | None]:
    """`"Juan Carlos Pérez"` → `("Juan Carlos", "Pérez")`; one word is a first name only."""
    words = name.split()
    if not words:
        return None, None
    if len(words) == 1:
        return words[0], None
    return " ".join(words[:-1]), words[-1]


def channel_profile_updates(
    profile: Mapping[str, Any],
    name: str | None,
    phone: str | None,
    email: str | None,
    document_number: str | None,
) -> dict[str, Any]:
    """What an inbound contact may write into a profile.

    The channel's name is kept as `display_name` (refreshed when it changes, unless staff
    edited it); first/last names come from it only while the profile has neither; contact
    data fills empty fields only. A staff-edited field is never overwritten, and an
    anonymized profile takes nothing personal from channels any more.
    """
    if profile.get("anonymized"):
        return {}
    edited = set(profile.get("staff_edited") or [])
    updates: dict[str, Any] = {}
    name = " ".join(name.split()) if name else None
    if name and "display_name" not in edited and profile.get("display_name") != name[:200]:
        updates["display_name"] = name[:200]
    if (
        name
        and not profile.get("first_name")
        and not profile.get("last_name")
        and not edited & {"first_name", "last_name"}
    ):
        first, last = split_name(name[:200])
        updates["first_name"] = first
        updates["last_name"] = last

    def fill(field: str, normalize: Any, raw: str | None) -> None:
        if not raw or profile.get(field) or field in edited:
            return
        try:
            updates[field] = normalize(raw)
        except InvalidField:
            return  # a channel's odd value is no reason to refuse the contact

    fill("mobile_phone", lambda v: normalize_e164("mobile_phone", v), phone)
    fill("email", normalize_email, email)
    fill("document_number", normalize_document, document_number)
    return updates


# ---------------------------------------------------------------------------------------------
# Search
# ---------------------------------------------------------------------------------------------

PHONE_CHANNELS = ("whatsapp", "ivr")
_MIN_PHONE_SUFFIX = 7


def phone_keys(phone: str) -> list[str]:
    """Digits of a phone and its suffixes (from 7 digits), so `11 5555-0000`, `5491155550000`
    and `+54 9 11 5555-0000` all find the same customer by equality or prefix."""
    number = digits(phone)
    if len(number) < _MIN_PHONE_SUFFIX:
        return [number] if number else []
    return [number[i:] for i in range(len(number) - _MIN_PHONE_SUFFIX + 1)]


def search_keys(profile: Mapping[str, Any], identity_keys: Iterable[str]) -> list[str]:
    """Normalized terms a profile is found by (indexed array; queried by anchored prefix)."""
    keys: set[str] = set()
    for field in ("first_name", "last_name", "display_name", "company"):
        value = profile.get(field)
        if value:
            folded = fold(value)
            keys.update(folded.split())
    full = " ".join(fold(v) for v in (profile.get("first_name"), profile.get("last_name")) if v)
    if full:
        keys.add(full)
    if profile.get("display_name"):
        keys.add(fold(profile["display_name"]))
    if profile.get("document_number"):
        keys.add(fold(profile["document_number"]))
        if digits(profile["document_number"]):
            keys.add(digits(profile["document_number"]))
    if profile.get("email"):
        keys.add(profile["email"].lower())
    for field in ("mobile_phone", "home_phone"):
        if profile.get(field):
            keys.update(phone_keys(profile[field]))
    for key in identity_keys:
        channel, _, external = key.partition(":")
        if channel in PHONE_CHANNELS:
            keys.update(phone_keys(external))
        elif external:
            keys.add(external.lower())
    return sorted(k for k in keys if k)


def match_keys(profile: Mapping[str, Any], identity_keys: Iterable[str]) -> list[str]:
    """Keys two profiles of the same person share: same phone, same email, same document."""
    keys: set[str] = set()
    for field in ("mobile_phone", "home_phone"):
        if profile.get(field):
            keys.add("phone:" + digits(profile[field]))
    for key in identity_keys:
        channel, _, external = key.partition(":")
        if channel in PHONE_CHANNELS and digits(external):
            keys.add("phone:" + digits(external))
    if profile.get("email"):
        keys.add("email:" + profile["email"].lower())
    if profile.get("document_number"):
        keys.add("doc:" + fold(profile["document_number"]))
    return sorted(keys)


@dataclass(frozen=True)
class SearchTerms:
    """Each term must prefix-match one of a profile's search keys."""

    terms: tuple[str, ...]


def search_terms(q: str) -> SearchTerms:
    """Turn what staff typed into terms: a phone/document written with punctuation becomes
    its digits; words are folded (case and accents ignored)."""
    q = q.strip()
    if not q:
        return SearchTerms(())
    if re.fullmatch(r"[+\d\s\-().]+", q) and len(digits(q)) >= 3:
        # A national trunk prefix ("011 ...") is not part of the stored E.164 digits.
        return SearchTerms((digits(q).lstrip("0") or "0",))
    if "@" in q:
        return SearchTerms((q.lower(),))
    folded = fold(q)
    compact_document = fold(normalize_document(q))
    words = folded.split()
    if len(words) == 1 and compact_document and compact_document != words[0]:
        # "20.123.456" or "AB-123": the document is stored without punctuation
        return SearchTerms((compact_document,))
    return SearchTerms(tuple(words))


# ---------------------------------------------------------------------------------------------
# Tags
# ---------------------------------------------------------------------------------------------


def require_note(note: str | None) -> str:
    if note is None or not note.strip():
        raise NoteRequired("a note with the evidence is required")
    return note.strip()


def check_tag_slug(tag: str) -> str:
    if not TAG_SLUG.match(tag):
        raise InvalidField("tag", "lowercase letters, digits and '_', 2 to 48 characters")
    return tag


def check_can_add_tag(current: Iterable[str], tag: str, catalogue: Iterable[str]) -> None:
    if tag not in set(catalogue):
        raise UnknownTag(f"unknown tag {tag!r}; see GET /api/tags")
    if tag in set(current):
        raise AlreadyTagged(f"the customer already has the tag {tag!r}")


def check_can_remove_tag(current: Iterable[str], tag: str) -> None:
    if tag not in set(current):
        raise NotTagged(f"the customer does not have the tag {tag!r}")


# ---------------------------------------------------------------------------------------------
# Merge
# ---------------------------------------------------------------------------------------------

MERGE_FILLABLE = (
    "first_name",
    "last_name",
    "display_name",
    "company",
    "gender",
    "email",
    "mobile_phone",
    "home_phone",
    "document_number",
)


def check_active(profile: Mapping[str, Any]) -> None:
    if profile.get("status") == "merged":
        raise CustomerMerged(
            f"customer was merged into {profile.get('merged_into')}; act on that customer"
        )


def check_case_open(case: Mapping[str, Any] | None) -> None:
    """Seed 003: a comment cannot be changed or deleted, but cancelling its case deletes it;
    a cancelled case is closed to comments for good."""
    if case is not None and case.get("status") == "cancelled":
        raise CaseCancelled("the case was cancelled; its comments were deleted")


def check_not_anonymized(profile: Mapping[str, Any]) -> None:
    if profile.get("anonymized"):
        raise CustomerAnonymized("the customer was anonymized; the profile can't change")


@dataclass(frozen=True)
class MergePlan:
    """What a merge changes on the survivor, recorded so that unmerge restores it exactly."""

    filled: dict[str, Any]  # survivor fields that were empty and take the absorbed's value
    tags_added: list[str]  # tags the absorbed had and the survivor lacked
    notes_before: str | None
    notes_after: str | None
    absorbed_lineage: list[str]  # the absorbed customer and whoever it had absorbed


def plan_merge(survivor: Mapping[str, Any], absorbed: Mapping[str, Any]) -> MergePlan:
    if survivor["_id"] == absorbed["_id"]:
        raise MergeRefused("a customer cannot be merged with itself")
    check_active(survivor)
    check_active(absorbed)
    if survivor.get("anonymized") or absorbed.get("anonymized"):
        raise MergeRefused("anonymized customers are not merged")
    filled = {f: absorbed[f] for f in MERGE_FILLABLE if not survivor.get(f) and absorbed.get(f)}
    survivor_tags = list(survivor.get("tags") or [])
    tags_added = [t for t in absorbed.get("tags") or [] if t not in survivor_tags]
    notes_before = survivor.get("notes")
    absorbed_notes = absorbed.get("notes")
    if absorbed_notes:
        notes_after = f"{notes_before}\n\n{absorbed_notes}" if notes_before else absorbed_notes
    else:
        notes_after = notes_before
    lineage = [absorbed["_id"], *(absorbed.get("absorbed_ids") or [])]
    return MergePlan(filled, tags_added, notes_before, notes_after, lineage)


def check_can_unmerge(merge: Mapping[str, Any], survivor: Mapping[str, Any]) -> None:
    """Merges on one survivor are undone most recent first, so each undo is exact."""
    if merge.get("undone_at") is not None:
        raise UnmergeRefused("this merge was already undone")
    check_active(survivor)
    if survivor.get("anonymized"):
        raise UnmergeRefused("the surviving customer was anonymized; the merge can't be undone")
    stack = list(survivor.get("merge_stack") or [])
    if merge["_id"] in stack and stack[-1] != merge["_id"]:
        later = stack[stack.index(merge["_id"]) + 1 :]
        raise UnmergeRefused(
            f"undo the later merges first (most recent first): {', '.join(reversed(later))}"
        )


def restore_after_unmerge(
    survivor: Mapping[str, Any], merge: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """Fields to `$set` on the survivor and tags to pull, undoing exactly what the merge did.

    A filled field that staff changed since the merge is left as staff wrote it; a tag the
    merge added is removed unless it was removed and re-added since.
    """
    sets: dict[str, Any] = {}
    for field, value in (merge.get("filled") or {}).items():
        if survivor.get(field) == value:
            sets[field] = None
    if survivor.get("notes") == merge.get("notes_after"):
        sets["notes"] = merge.get("notes_before")
    current = set(survivor.get("tags") or [])
    pull = [t for t in merge.get("tags_added") or [] if t in current]
    return sets, pull
