"""The access gate through AppTest: nothing of the app is shown before the team password."""

import pytest
from streamlit.testing.v1 import AppTest

from core.studio.access import FREE_ATTEMPTS



@pytest.fixture
def make_app(app_env, app_file):
    def make(password=None, **env):
        for key, value in env.items():
            app_env.setenv(key, value)
        at = AppTest.from_file(app_file, default_timeout=60)
        if password:
            at.secrets["app_password"] = password
        at.session_state["reviewer"] = "Ana"
        return at.run()
    return make


def app_visible(at) -> bool:
    return any(b.label == "Escrever" for b in at.button)


def login(at, password):
    at.text_input[0].input(password)
    next(b for b in at.button if b.label == "Entrar").click()
    return at.run()


def test_no_content_before_the_password(make_app):
    at = make_app(password="s3nha-da-equipe")
    assert not at.exception
    assert at.text_input[0].label == "Senha da equipe"
    assert not app_visible(at)
    assert not at.sidebar.text  # not even the engine facts


def test_the_right_password_opens_the_app(make_app):
    at = login(make_app(password="s3nha-da-equipe"), "s3nha-da-equipe")
    assert app_visible(at)


def test_wrong_passwords_are_throttled(make_app):
    at = make_app(password="s3nha-da-equipe")
    for attempt in range(FREE_ATTEMPTS):
        at = login(at, f"chute-{attempt}")
        assert "Senha incorreta." in [e.value for e in at.error]
    at = login(at, "s3nha-da-equipe")  # right, but too soon after the free failures
    assert any("Muitas tentativas" in e.value for e in at.error)
    assert not app_visible(at)


def test_public_without_password_refuses(make_app):
    at = make_app(STUDIO_PUBLIC="1")
    assert any("não tem senha" in e.value for e in at.error)
    assert not app_visible(at)


def test_public_without_password_with_the_flag_warns_on_every_page(make_app):
    at = make_app(STUDIO_PUBLIC="1", STUDIO_ALLOW_NO_PASSWORD="1")
    assert app_visible(at)
    assert any("SEM senha" in w.value for w in at.warning)
    at.switch_page("views/history.py")
    at.run()
    assert any("SEM senha" in w.value for w in at.warning)


def test_local_without_password_is_open(make_app):
    at = make_app()
    assert app_visible(at) and not any("SEM senha" in w.value for w in at.warning)


def test_a_public_app_with_a_guessable_password_refuses_to_open_saying_why(make_app):
    at = make_app(password="aaaaaaaaaa", STUDIO_PUBLIC="1")
    assert any("a senha não protege" in e.value and "10^2 tentativas" in e.value for e in at.error)
    assert not at.text_input and not app_visible(at)  # not even the password form


def test_on_this_machine_only_a_weak_password_is_the_teams_own_choice(make_app):
    assert make_app(password="aaaaaaaaaa").text_input[0].label == "Senha da equipe"
