"""Bots the workbench can talk to: the Bot protocol, an OpenAI-compatible adapter and the offline
reference bot. Servers (server.py, faults.py) are imported from their modules, not from here.
"""

from __future__ import annotations

from typing import Any

from workbench.bots.base import (
    AsyncReplyStream,
    Bot,
    Provenance,
    ReplyRequest,
    ReplyResult,
    ReplyStream,
)
from workbench.bots.errors import (
    AuthFailed,
    BotError,
    BotTimeout,
    ConnectionRefused,
    ContextOverflow,
    DeadlineExceeded,
    MalformedResponse,
    RateLimited,
    RequestRejected,
    ServerError,
    StreamCut,
)
from workbench.bots.openai_compat import OpenAICompatBot
from workbench.bots.policy import RetryPolicy
from workbench.bots.reference import BASELINE_LABEL, ReferenceBot
from workbench.domain.enums import BotKind

__all__ = [
    "BASELINE_LABEL",
    "AsyncReplyStream",
    "AuthFailed",
    "Bot",
    "BotError",
    "BotTimeout",
    "ConnectionRefused",
    "ContextOverflow",
    "DeadlineExceeded",
    "MalformedResponse",
    "OpenAICompatBot",
    "Provenance",
    "RateLimited",
    "ReferenceBot",
    "ReplyRequest",
    "ReplyResult",
    "ReplyStream",
    "RequestRejected",
    "RetryPolicy",
    "ServerError",
    "StreamCut",
    "make_bot",
]


def make_bot(kind: BotKind | str, **kwargs: Any) -> Bot:
    """Build a bot of `kind`; keyword arguments go to its constructor.

    `make_bot("reference")`, `make_bot("openai", base_url=..., model=..., api_key_env=...)`.
    """
    kind = BotKind(kind)
    if kind is BotKind.reference:
        return ReferenceBot(**kwargs)
    if kind is BotKind.openai:
        return OpenAICompatBot(**kwargs)
    raise ValueError(f"make_bot cannot build {kind.value!r} bots (replay bots replay stored turns)")
