"""Who can reach which page: listed in the navigation, opened by URL, and the guard on the page."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from tests.training_support import (
    APP,
    PASSWORD,
    TIMEOUT,
    app,
    button,
    panel_member,
    reference_day,
    signed_in_app,
    staff,
    texts,
)
from workbench.domain.enums import Role
from workbench.ui import registry

pytestmark = pytest.mark.usefixtures("fast_hashing")

# The training-day pages and who may open them; pages other features add are checked below
# against the roles their PageSpec declares.
MINE = {
    "home": set(registry.STAFF),
    "facilitator": {Role.facilitator},
    "scoring": {Role.expert, Role.facilitator},
    "scripted": {Role.expert, Role.facilitator},
    "pairwise": {Role.expert, Role.facilitator, Role.panel},
    "bots": {Role.facilitator, Role.developer},
    "roleplay": {Role.panel},
}
ROLES = [Role.facilitator, Role.expert, Role.developer, Role.manager, Role.panel]
PAGE_TITLES = {"home": "Welkom", "facilitator": "Trainingsdag", "scoring": "Antwoorden beoordelen",
               "scripted": "Script afspelen", "pairwise": "A/B vergelijken", "bots": "Bots",
               "roleplay": "Rollenspel"}



def user_for(role: Role, eng: sa.Engine, library):  # type: ignore[no-untyped-def]
    if role == Role.panel:
        return panel_member(eng, reference_day(eng, library))
    return staff(eng, f"user-{role}", role)


def test_the_registry_matches_the_expected_access() -> None:
    declared = {p.url_path: set(p.roles) for p in registry.PAGES}
    assert {k: declared.get(k) for k in MINE} == MINE
    for role in ROLES:
        assert {p.url_path for p in registry.pages_for(role)} ==\
            {url for url, roles in declared.items() if role in roles}
    assert len({p.url_path for p in registry.PAGES}) == len(registry.PAGES)
    assert registry.pages_for(None) == [registry.SIGN_IN]
    assert all((APP.parent / p.path).is_file() for p in [registry.SIGN_IN, *registry.PAGES])


def test_signed_out_only_the_sign_in_page_exists(eng) -> None:  # type: ignore[no-untyped-def]
    at = app().run()
    assert not at.exception and "Welkom bij de werkplaats" in texts(at)
    for spec in registry.PAGES:
        with pytest.raises(ValueError):
            at.switch_page(spec.path)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_its_pages_and_no_others(role: Role, eng, library) -> None:  # type: ignore[no-untyped-def]
    at = signed_in_app(user_for(role, eng, library))
    assert not at.exception
    for spec in registry.PAGES:
        if role in spec.roles:
            at.switch_page(spec.path).run()
            assert not at.exception, (spec.path, at.exception)
            assert "niet voor jouw rol" not in texts(at)
            if spec.url_path in PAGE_TITLES:
                assert PAGE_TITLES[spec.url_path] in at.title[0].value
        else:
            with pytest.raises(ValueError):  # not registered: not in the menu, not by URL
                at.switch_page(spec.path)


def test_a_page_url_of_another_role_falls_back_to_the_own_start_page(eng, library) -> None:  # type: ignore[no-untyped-def]
    fac = staff(eng, "fac", Role.facilitator)
    expert = staff(eng, "exp", Role.expert)
    at = signed_in_app(fac)
    at.switch_page("app_pages/facilitator.py").run()
    assert "Nieuwe trainingsdag" in [e.label for e in at.expander]
    # Same browser, same URL (/facilitator), now an expert's session asks for it.
    at.session_state["auth_participant_id"] = expert.participant_id
    at.run()
    assert not at.exception
    assert at.title[0].value.startswith("Welkom")
    assert "Nieuwe trainingsdag" not in [e.label for e in at.expander]


@pytest.mark.parametrize("spec", registry.PAGES, ids=lambda s: s.url_path)
def test_every_page_checks_the_role_itself(spec: registry.PageSpec, eng, library) -> None:  # type: ignore[no-untyped-def]
    """Run each page file on its own, bypassing the navigation: the guard still stops it."""
    page = AppTest.from_file(str(APP.parent / spec.path), default_timeout=TIMEOUT)
    page.run()
    assert "Meld je eerst aan" in texts(page) and len(page.title) == 0
    outsider = next(r for r in ROLES if r not in spec.roles)
    page.session_state["auth_participant_id"] = user_for(outsider, eng, library).participant_id
    page.run()
    assert "niet voor jouw rol" in texts(page) and len(page.title) == 0


def test_sign_in_with_password_then_sign_out(eng) -> None:  # type: ignore[no-untyped-def]
    staff(eng, "exp")
    at = app().run()
    at.text_input(key="auth_code").input("exp")
    at.text_input(key="auth_password").input("verkeerd-wachtwoord")
    button(at, "Aanmelden").click().run()
    assert "horen niet bij elkaar" in texts(at)
    at.text_input(key="auth_password").input(PASSWORD)
    button(at, "Aanmelden").click().run()
    assert at.title[0].value == "Welkom, exp"
    button(at, "Afmelden").click().run()
    assert "Welkom bij de werkplaats" in texts(at)


def test_language_switch_is_stored_on_the_participant(eng) -> None:  # type: ignore[no-untyped-def]
    user = staff(eng, "exp")
    at = signed_in_app(user)
    assert at.title[0].value == "Welkom, exp"
    at.sidebar.radio[0].set_value("en").run()
    assert at.title[0].value == "Welcome, exp"
    again = signed_in_app(user.__class__(**{**user.__dict__, "language": "en"}))
    assert again.title[0].value == "Welcome, exp"
    from workbench.services import accounts

    assert accounts.sign_in(engine=eng, code="exp", password=PASSWORD).language == "en"


def test_oidc_identity_maps_to_an_existing_staff_account(eng) -> None:  # type: ignore[no-untyped-def]
    from workbench.services import accounts

    accounts.create_staff(engine=eng, code="jan@example.org", role=Role.manager, password=None)
    auth_secrets = {"redirect_uri": "http://127.0.0.1/oauth2callback", "cookie_secret": "x",
                    "client_id": "x", "client_secret": "x",
                    "server_metadata_url": "https://login.example.org/.well-known/x"}
    at = app()
    at.secrets["auth"] = auth_secrets
    at.run()
    assert "Aanmelden met je organisatie-account" in [b.label for b in at.button]
    at.user = {"is_logged_in": True, "email": "jan@example.org"}
    at.run()
    assert at.title[0].value == "Welkom, jan@example.org"
    stranger = app()
    stranger.secrets["auth"] = auth_secrets
    stranger.user = {"is_logged_in": True, "email": "nobody@example.org"}
    stranger.run()
    assert "Er is nog geen account voor nobody@example.org" in texts(stranger)


def test_demo_data_is_marked_on_every_page(eng, library, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from workbench.services.demo import load_demo

    user = staff(eng, "user-demo-check", Role.facilitator)
    assert "DEMO" not in texts(signed_in_app(user))
    load_demo(engine=eng, library=library, runs_dir=tmp_path,
              scenario_ids=["acuut-verwurging-partner"], only_if_empty=False)
    import streamlit as st

    st.cache_data.clear()  # the banner's presence check is cached for a minute
    for spec in registry.pages_for(Role.facilitator):
        at = signed_in_app(user)
        at.switch_page(spec.path).run()
        assert "DEMO:" in texts(at), spec.path
