"""Bot targets and their prompt versions: add, list, set the prompt, and the Bot behind a
target (the offline reference target exists from the first call).
"""

from workbench.services.targets._targets import (
    DEFAULT_MAX_TOKENS,
    REFERENCE_TARGET,
    BotSetupError,
    TargetView,
    add_target,
    bot_for,
    default_prompt,
    ensure_reference_target,
    list_targets,
    prompt_of,
    set_target_prompt,
    split_client_settings,
)

__all__ = [
    "add_target",
    "bot_for",
    "BotSetupError",
    "DEFAULT_MAX_TOKENS",
    "default_prompt",
    "ensure_reference_target",
    "list_targets",
    "prompt_of",
    "REFERENCE_TARGET",
    "set_target_prompt",
    "split_client_settings",
    "TargetView",
]
