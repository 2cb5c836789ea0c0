"""CLI: staff accounts (`workbench account add|list|password|deactivate`). Panel members never
get an account: they join a training day with a code from the facilitator's page."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from workbench.cli import _common as common
from workbench.cli._common import err
from workbench.domain.enums import Role

app = typer.Typer()

account_app = typer.Typer(help="Staff accounts: facilitator, expert, developer, manager.",
                          no_args_is_help=True)
app.add_typer(account_app, name="account")




def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return typer.prompt("password", hide_input=True, confirmation_prompt=True)


def _message(exc: Exception) -> str:
    from workbench.i18n import translate
    from workbench.services.errors import UserError

    if isinstance(exc, UserError):
        return translate(exc.key, "en", **exc.fmt)
    return str(exc)


@account_app.command("add")
def add(
    code: Annotated[str, typer.Argument(
        help="User name (an e-mail address when signing in by OIDC).")],
    role: Annotated[Role, typer.Option("--role",
                                       help="facilitator, expert, developer or manager.")],
    password_stdin: bool = typer.Option(False, "--password-stdin",
                                        help="Read the password from the first line of stdin."),
    no_password: bool = typer.Option(False, "--no-password",
                                     help="No password: the account signs in through OIDC only."),
) -> None:
    """Create a staff account; the password is hashed with argon2id, never stored as is."""
    from workbench.services import accounts

    password = None if no_password else _read_password(password_stdin)
    try:
        user = accounts.create_staff(engine=common.engine(), code=code, role=role,
                                     password=password)
    except accounts.AuthError as exc:
        err.print(f"error: {_message(exc)}")
        raise typer.Exit(1) from None
    err.print(f"account {user.code} ({user.role}) created")


@account_app.command("password")
def password(
    code: str = typer.Argument(..., help="User name."),
    password_stdin: bool = typer.Option(False, "--password-stdin",
                                        help="Read the password from the first line of stdin."),
) -> None:
    """Set a new password for a staff account."""
    from workbench.services import accounts

    try:
        accounts.set_password(engine=common.engine(), code=code,
                              password=_read_password(password_stdin))
    except accounts.AuthError as exc:
        err.print(f"error: {_message(exc)}")
        raise typer.Exit(1) from None
    err.print(f"password of {code} changed; its sessions have ended")


@account_app.command("deactivate")
def deactivate(code: str = typer.Argument(..., help="User name.")) -> None:
    """Deactivate a staff account: it can no longer sign in and its sessions end now."""
    from workbench.services import accounts

    try:
        accounts.deactivate_staff(engine=common.engine(), code=code, deactivated_by="cli")
    except accounts.AuthError as exc:
        # An unknown name is a usage error (2), like every other command's.
        common.fail(_message(exc), code=common.EXIT_USAGE if exc.key == "auth.no_such_account"
                    else common.EXIT_FAILED)
    err.print(f"account {code} deactivated; its ratings stay")


@account_app.command("list")
def list_accounts() -> None:
    """List the staff accounts (user name, role, language)."""
    from workbench.services import accounts

    for user in accounts.list_staff(engine=common.engine()):
        typer.echo(f"{user.code}\t{user.role}\t{user.language}")  # tab-separated, for scripts
