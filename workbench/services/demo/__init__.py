"""Demo data for a first look: a training day, two prompt versions of the reference bot, runs,
simulated ratings, and the demo staff accounts.
"""

from workbench.services.demo._accounts import (
    ensure_demo_accounts,
)
from workbench.services.demo._demo import (
    DemoSummary,
    demo_prompt_text,
    has_demo_data,
    is_empty,
    load_demo,
)

__all__ = [
    "demo_prompt_text",
    "DemoSummary",
    "ensure_demo_accounts",
    "has_demo_data",
    "is_empty",
    "load_demo",
]
