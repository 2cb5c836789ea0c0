"""`workbench account add|list|password`: the CLI shell over the auth service."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from workbench.cli import app
from workbench.services import accounts
from workbench.services.context import get_engine

pytestmark = pytest.mark.usefixtures("fast_hashing")


def invoke(*args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]

    return CliRunner().invoke(app, list(args), input=stdin)


def test_add_list_and_change_password(settings) -> None:  # type: ignore[no-untyped-def]
    result = invoke("account", "add", "anna", "--role", "expert", "--password-stdin",
                    stdin="een-lang-wachtwoord\n")
    assert result.exit_code == 0, result.output
    eng = get_engine(settings)
    assert accounts.sign_in(engine=eng, code="anna",
                            password="een-lang-wachtwoord").role == "expert"
    listed = invoke("account", "list")
    assert "anna\texpert\tnl" in listed.output
    changed = invoke("account", "password", "anna", "--password-stdin",
                     stdin="nog-een-lang-wachtwoord\n")
    assert changed.exit_code == 0
    assert accounts.sign_in(engine=eng, code="anna", password="nog-een-lang-wachtwoord")
    oidc = invoke("account", "add", "jan@example.org", "--role", "manager", "--no-password")
    assert oidc.exit_code == 0
    assert accounts.sign_in_oidc(engine=eng, email="jan@example.org").role == "manager"


@pytest.mark.parametrize("args,stdin,message", [
    (["anna", "--role", "expert", "--password-stdin"], "kort\n", "at least 10 characters"),
    (["lid", "--role", "panel", "--password-stdin"], "een-lang-wachtwoord\n", "not a role"),
])
def test_add_refuses_with_a_clear_message(settings, args, stdin, message) -> None:  # type: ignore[no-untyped-def]
    result = invoke("account", "add", *args, stdin=stdin)
    assert result.exit_code == 1 and message in result.output


def test_deactivate_ends_sign_in_and_sessions(settings) -> None:  # type: ignore[no-untyped-def]
    invoke("account", "add", "anna", "--role", "expert", "--password-stdin",
           stdin="een-lang-wachtwoord\n")
    eng = get_engine(settings)
    opened = accounts.sign_in_with_session(engine=eng, code="anna", password="een-lang-wachtwoord")
    result = invoke("account", "deactivate", "anna")
    assert result.exit_code == 0, result.output
    assert accounts.check_staff_session(engine=eng, session_id=opened.session_id) is None
    try:
        accounts.sign_in(engine=eng, code="anna", password="een-lang-wachtwoord")
    except accounts.AuthError as exc:
        assert exc.key == "auth.wrong_password"
    else:
        raise AssertionError("a deactivated account signed in")
    unknown = invoke("account", "deactivate", "niemand")
    assert unknown.exit_code == 2 and "niemand" in unknown.output
