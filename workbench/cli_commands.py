"""Registers the command groups that live in their own modules (kept short per module)."""
from workbench import (
    cli_accounts,  # noqa: F401,E402
    cli_agreement,  # noqa: F401,E402
    cli_app,  # noqa: F401,E402
    cli_bots,  # noqa: F401,E402
    cli_eval,  # noqa: F401,E402
    cli_export,  # noqa: F401,E402
    cli_report,  # noqa: F401,E402
)
