"""Bot targets and prompt versions: add, list, set the prompt, and build the Bot for a target."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from workbench.bots import Bot, make_bot
from workbench.domain.enums import BotKind
from workbench.storage import repo
from workbench.storage.db import session_scope
from workbench.storage.tables import BotTarget, PromptVersion

REFERENCE_TARGET = "reference"
CLIENT_SETTINGS = frozenset({"timeout_s", "connect_timeout_s", "deadline_s", "max_retries",
                             "batch_retries", "backoff_base_s", "backoff_max_s",
                             "max_retry_after_s"})
# New openai targets cap a reply at this many tokens unless told otherwise: a small model can
# otherwise generate until its context is full. Targets made before keep what they have (the
# adapter's deadline_s still stops a runaway reply for them).
DEFAULT_MAX_TOKENS = 600


def default_prompt() -> str:
    """The shipped baseline system prompt (Dutch) of the reference target."""
    return resources.files("workbench").joinpath("prompts/basis.txt").read_text(encoding="utf-8")


@dataclass(frozen=True)
class TargetView:
    id: int
    name: str
    kind: str
    base_url: str | None
    model: str | None
    api_key_env: str | None
    prompt_label: str | None
    prompt_sha: str | None
    n_prompt_versions: int


class BotSetupError(ValueError):
    pass


def ensure_reference_target(*, session: Session) -> BotTarget:
    """The offline reference target exists out of the box, with the shipped prompt.

    `services.context.get_engine` calls this once per database, so every command and page
    finds it from the first call. Several processes may start on an empty database at once:
    the insert runs in a savepoint, and the one that loses the unique name finds the winner's.
    """
    try:
        return repo.get_bot_target(session=session, name=REFERENCE_TARGET)
    except repo.NotFound:
        pass
    try:
        with session.begin_nested():
            target = repo.create_bot_target(
                session=session, name=REFERENCE_TARGET, kind=BotKind.reference,
                model="reference-v1")
            repo.set_prompt(session=session, target=target, content=default_prompt(),
                            label="basis")
    except IntegrityError:
        return repo.get_bot_target(session=session, name=REFERENCE_TARGET)
    return target


def add_target(
    *,
    engine: sa.Engine,
    name: str,
    kind: BotKind,
    prompt: str,
    label: str,
    base_url: str | None = None,
    model: str | None = None,
    api_key_env: str | None = None,
    parameters: dict[str, Any] | None = None,
) -> TargetView:
    if kind == BotKind.openai and not (base_url and model):
        raise BotSetupError("an openai target needs --base-url and --model")
    with session_scope(engine) as s:
        try:
            repo.get_bot_target(session=s, name=name)
        except repo.NotFound:
            pass
        else:
            raise BotSetupError(f"a bot target named '{name}' exists already")
        params = dict(parameters or {})
        if kind == BotKind.openai and not params.keys() & {"max_tokens", "max_completion_tokens"}:
            params["max_tokens"] = DEFAULT_MAX_TOKENS
        target = repo.create_bot_target(
            session=s, name=name, kind=kind, base_url=base_url, model=model,
            api_key_env=api_key_env, parameters=params,
        )
        repo.set_prompt(session=s, target=target, content=prompt, label=label)
        repo.audit(session=s, action="bot.add", entity="bot_target", entity_id=target.id,
                   details={"name": name, "kind": str(kind)})
        return _view(s, target)


def set_target_prompt(*, engine: sa.Engine, name: str, prompt: str, label: str) -> TargetView:
    with session_scope(engine) as s:
        target = repo.get_bot_target(session=s, name=name)
        pv = repo.set_prompt(session=s, target=target, content=prompt, label=label)
        repo.audit(session=s, action="bot.set_prompt", entity="bot_target", entity_id=target.id,
                   details={"prompt_version_id": pv.id, "label": label, "sha256": pv.sha256})
        return _view(s, target)


def list_targets(*, engine: sa.Engine) -> list[TargetView]:
    with session_scope(engine) as s:
        ensure_reference_target(session=s)
        return [_view(s, t) for t in repo.list_bot_targets(session=s)]


def _view(session: Session, target: BotTarget) -> TargetView:
    versions = repo.list_prompt_versions(session=session, bot_target_id=target.id)
    current = next((v for v in versions if v.id == target.current_prompt_version_id), None)
    return TargetView(
        id=target.id or 0, name=target.name, kind=str(target.kind), base_url=target.base_url,
        model=target.model, api_key_env=target.api_key_env,
        prompt_label=current.label if current else None,
        prompt_sha=current.sha256 if current else None, n_prompt_versions=len(versions),
    )


def bot_for(target: BotTarget, **overrides: Any) -> Bot:
    """The live Bot behind a target. Replay targets hold imported logs and cannot reply."""
    if target.kind == BotKind.replay:
        raise BotSetupError(f"'{target.name}' is a replay target: it holds imported transcripts "
                            "and cannot produce new replies")
    if target.kind == BotKind.reference:
        return make_bot(BotKind.reference)
    params, client = split_client_settings(target.parameters)
    return make_bot(
        BotKind.openai, base_url=target.base_url, model=target.model, parameters=params,
        api_key_env=target.api_key_env, **{**client, **overrides},
    )


def split_client_settings(parameters: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(model parameters, client settings) of a target: timeouts and retries live beside the
    model parameters on the target but are not sent to the model."""
    params = dict(parameters)
    client = {k: params.pop(k) for k in list(params) if k in CLIENT_SETTINGS}
    return params, client


def prompt_of(*, session: Session, prompt_version_id: int) -> PromptVersion:
    pv = session.get(PromptVersion, prompt_version_id)
    if pv is None:
        raise repo.NotFound(f"prompt version {prompt_version_id}")
    return pv
