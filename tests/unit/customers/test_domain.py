"""The customers domain rules, pure and fast."""

from __future__ import annotations

import pytest

from services.customers import domain


class TestProfileValidation:
    def test_phones_written_with_spaces_and_dashes_are_normalized_to_e164(self):
        clean = domain.validate_profile_changes({"mobile_phone": "+54 9 11 5555-0000"})
        assert clean == {"mobile_phone": "+5491155550000"}

    def test_a_00_international_prefix_is_accepted_as_plus(self):
        assert domain.normalize_e164("home_phone", "0034 (91) 123.45.67") == "+34911234567"

    @pytest.mark.parametrize("raw", ["11 5555 0000", "+12", "+0123456789", "+54abc55550000"])
    def test_phones_that_are_not_e164_are_refused_with_the_field_named(self, raw):
        with pytest.raises(domain.InvalidField) as err:
            domain.validate_profile_changes({"mobile_phone": raw})
        assert err.value.field == "mobile_phone"
        assert "E.164" in err.value.message

    @pytest.mark.parametrize("raw", ["plain", "a@b", "a b@c.com", "x@@y.com", "a..b@c.com"])
    def test_invalid_emails_are_refused(self, raw):
        with pytest.raises(domain.InvalidField):
            domain.validate_profile_changes({"email": raw})

    def test_email_domain_is_lowercased_and_the_local_part_kept(self):
        assert domain.normalize_email(" Ana.Lopez@Example.COM ") == "Ana.Lopez@example.com"

    def test_document_numbers_lose_their_punctuation(self):
        assert domain.validate_profile_changes({"document_number": "20.123.456"}) == {
            "document_number": "20123456"
        }

    def test_blank_or_null_clears_a_field(self):
        assert domain.validate_profile_changes({"company": "  ", "email": None}) == {
            "company": None,
            "email": None,
        }

    def test_unknown_fields_are_refused(self):
        with pytest.raises(domain.InvalidField) as err:
            domain.validate_profile_changes({"salary": "1"})
        assert err.value.field == "salary"


class TestExtraFields:
    def test_values_are_checked_against_the_configured_type(self):
        fields = domain.validate_field_definitions(
            [{"key": "plan", "type": "text"}, {"key": "deuda", "type": "number"}]
        )
        assert domain.validate_extra({"plan": "Fibra", "deuda": 10.5}, fields) == {
            "plan": "Fibra",
            "deuda": 10.5,
        }
        with pytest.raises(domain.InvalidField):
            domain.validate_extra({"deuda": "mucho"}, fields)
        with pytest.raises(domain.InvalidField):
            domain.validate_extra({"nope": 1}, fields)

    def test_a_definition_may_not_shadow_a_built_in_field(self):
        with pytest.raises(domain.InvalidField):
            domain.validate_field_definitions([{"key": "email"}])


class TestChannelUpdates:
    def test_a_new_profile_takes_the_channel_name_split_into_first_and_last(self):
        updates = domain.channel_profile_updates({}, "Juan Carlos Pérez", None, None, None)
        assert updates == {
            "display_name": "Juan Carlos Pérez",
            "first_name": "Juan Carlos",
            "last_name": "Pérez",
        }

    def test_staff_edited_fields_are_never_overwritten(self):
        profile = {
            "first_name": "José",
            "display_name": "Pepe",
            "email": None,
            "staff_edited": ["first_name", "display_name", "email"],
        }
        assert domain.channel_profile_updates(profile, "Pepito", None, "p@x.com", None) == {}

    def test_display_name_follows_the_channel_but_names_stay(self):
        profile = {"first_name": "Ana", "last_name": "Ruiz", "display_name": "Ana"}
        assert domain.channel_profile_updates(profile, "Ana R.", None, None, None) == {
            "display_name": "Ana R."
        }

    def test_contact_data_fills_only_empty_fields_and_bad_values_are_skipped(self):
        profile = {"mobile_phone": "+5491100000000"}
        updates = domain.channel_profile_updates(
            profile, None, "+5491199999999", "not-an-email", "30.111.222"
        )
        assert updates == {"document_number": "30111222"}

    def test_an_anonymized_profile_takes_nothing_from_channels(self):
        assert (
            domain.channel_profile_updates(
                {"anonymized": True}, "Ana", "+5491155550000", None, None
            )
            == {}
        )


class TestSearch:
    def test_fold_strips_accents_and_case(self):
        assert domain.fold("  José  PÉREZ Ñandú ") == "jose perez nandu"

    def test_a_phone_is_found_by_its_digits_and_its_local_suffixes(self):
        keys = domain.search_keys({"mobile_phone": "+5491155550000"}, [])
        assert "5491155550000" in keys
        assert "1155550000" in keys
        assert "55550000" in keys

    @pytest.mark.parametrize(
        "q", ["+54 9 11 5555-0000", "5491155550000", "(011) 5555-0000", "11 5555 0000"]
    )
    def test_phones_written_any_way_become_one_digit_term_found_in_the_keys(self, q):
        keys = domain.search_keys({"mobile_phone": "+5491155550000"}, [])
        [term] = domain.search_terms(q).terms
        assert any(k.startswith(term) for k in keys)

    def test_names_are_searched_word_by_word_without_accents(self):
        assert domain.search_terms("José PÉREZ").terms == ("jose", "perez")
        keys = domain.search_keys({"first_name": "José", "last_name": "Pérez"}, [])
        assert {"jose", "perez", "jose perez"} <= set(keys)

    def test_a_document_with_dots_is_searched_without_them(self):
        assert domain.search_terms("20.123.456").terms == ("20123456",)
        assert domain.search_terms("AB-123.456").terms == ("ab123456",)

    def test_identities_of_phone_channels_are_searchable_by_number(self):
        keys = domain.search_keys({}, ["whatsapp:+5491155550000", "messenger:PSID123"])
        assert "5491155550000" in keys and "psid123" in keys

    def test_match_keys_pair_same_phone_email_and_document(self):
        a = domain.match_keys({"email": "A@X.com", "document_number": "123"}, ["ivr:+541100001111"])
        assert a == ["doc:123", "email:a@x.com", "phone:541100001111"]


class TestTags:
    def test_a_note_with_evidence_is_required(self):
        with pytest.raises(domain.NoteRequired):
            domain.require_note("   ")
        assert domain.require_note(" captura ") == "captura"

    def test_only_catalogue_tags_can_be_added_once(self):
        catalogue = [slug for slug, _ in domain.SEED_TAGS]
        with pytest.raises(domain.UnknownTag):
            domain.check_can_add_tag([], "moroso", catalogue)
        with pytest.raises(domain.AlreadyTagged):
            domain.check_can_add_tag(["svip"], "svip", catalogue)
        domain.check_can_add_tag([], "fraude", catalogue)

    def test_removing_an_absent_tag_is_refused(self):
        with pytest.raises(domain.NotTagged):
            domain.check_can_remove_tag(["svip"], "fraude")

    def test_the_six_seed_tags_ship(self):
        assert [slug for slug, _ in domain.SEED_TAGS] == [
            "abusador_de_bonos",
            "usuario_vpn",
            "reclamaciones_constantes",
            "svip",
            "cliente_grosero",
            "fraude",
        ]


class TestMerge:
    def test_merge_fills_empty_fields_adds_missing_tags_and_appends_notes(self):
        survivor = {"_id": "a", "email": None, "first_name": "Ana", "tags": ["svip"], "notes": "n1"}
        absorbed = {
            "_id": "b",
            "email": "b@x.com",
            "first_name": "Anita",
            "tags": ["svip", "fraude"],
            "notes": "n2",
            "absorbed_ids": ["c"],
        }
        plan = domain.plan_merge(survivor, absorbed)
        assert plan.filled == {"email": "b@x.com"}
        assert plan.tags_added == ["fraude"]
        assert plan.notes_after == "n1\n\nn2"
        assert plan.absorbed_lineage == ["b", "c"]

    def test_merging_with_itself_or_an_already_merged_customer_is_refused(self):
        with pytest.raises(domain.MergeRefused):
            domain.plan_merge({"_id": "a"}, {"_id": "a"})
        with pytest.raises(domain.CustomerMerged):
            domain.plan_merge({"_id": "a"}, {"_id": "b", "status": "merged", "merged_into": "z"})

    def test_unmerge_restores_only_what_the_merge_changed(self):
        merge = {
            "_id": "m1",
            "filled": {"email": "b@x.com", "company": "ACME"},
            "tags_added": ["fraude"],
            "notes_before": "n1",
            "notes_after": "n1\n\nn2",
        }
        survivor = {
            "email": "b@x.com",
            "company": "Edited Co",  # staff changed it after the merge: keep it
            "tags": ["svip", "fraude"],
            "notes": "n1\n\nn2",
            "merge_stack": ["m1"],
        }
        domain.check_can_unmerge(merge, survivor)
        sets, pull = domain.restore_after_unmerge(survivor, merge)
        assert sets == {"email": None, "notes": "n1"}
        assert pull == ["fraude"]

    def test_merges_are_undone_most_recent_first_and_only_once(self):
        survivor = {"merge_stack": ["m1", "m2"]}
        with pytest.raises(domain.UnmergeRefused):
            domain.check_can_unmerge({"_id": "m1"}, survivor)
        domain.check_can_unmerge({"_id": "m2"}, survivor)
        with pytest.raises(domain.UnmergeRefused):
            domain.check_can_unmerge({"_id": "m2", "undone_at": "2024-01-01"}, survivor)


@pytest.mark.parametrize(
    ("written", "country", "e164"),
    [
        ("(011) 4555-1234", "AR", "+541145551234"),
        ("011 15 5555-0000", "AR", "+5491155550000"),
        ("0351 15 123-4567", "AR", "+5493511234567"),
        ("(0351) 423-4567", "AR", "+543514234567"),
        ("9 11 5555 0000", "AR", "+5491155550000"),
        ("(02) 915 1234", "UY", "+59829151234"),
        ("(555) 123-4567", "US", "+15551234567"),
    ],
)
def test_local_phones_become_e164_in_the_default_country(written, country, e164):
    from services.customers.domain import local_to_e164, localize_phones

    assert local_to_e164(written, country) == e164
    assert localize_phones({"home_phone": written, "company": "X"}, country) == {
        "home_phone": e164,
        "company": "X",
    }


@pytest.mark.parametrize("written", ["+54 11 4555 1234", "555 0000", "hola", "0054 11 4555 1234"])
def test_what_is_not_a_local_number_is_left_for_validation(written):
    from services.customers.domain import local_to_e164

    assert local_to_e164(written, "AR") is None
    assert local_to_e164("(011) 4555-1234", "ZZ") is None


@pytest.mark.parametrize("typed", ["30-123-456", "30.123.456", "30 123 456", "30123456"])
def test_a_document_is_searched_by_its_digits_however_it_is_typed(typed):
    assert domain.search_terms(typed).terms == ("30123456",)
