"""Exports for developers: curated examples as SFT, DPO, few-shot snippets and eval sets, and
the ratings table; scrubbed, gated for residual personal data, written atomically with a
manifest.
"""

from workbench.domain.export_formats import ExportFormat
from workbench.services.export._examples import (
    DEFAULT_EXPORT_STATES,
    ExportExample,
    Message,
    curated_examples_for_export,
)
from workbench.services.export._export import (
    ExportOptions,
    ExportPreview,
    ExportResult,
    ResidualPIIError,
    preview_export,
    token_counter,
    write_export,
)
from workbench.services.export._fewshot import (
    FewShotBlock,
    fewshot_block,
)
from workbench.services.export._scrub import (
    Residual,
)
from workbench.services.export._select import (
    ExportFilters,
)
from workbench.services.export._views import (
    ExportChoices,
    ExportView,
    export_choices,
    export_zip,
    new_export_dir,
    recent_exports,
)
from workbench.services.export._write import (
    ExportTargetError,
)

__all__ = [
    "curated_examples_for_export",
    "DEFAULT_EXPORT_STATES",
    "export_choices",
    "export_zip",
    "ExportChoices",
    "ExportExample",
    "ExportFilters",
    "ExportFormat",
    "ExportOptions",
    "ExportPreview",
    "ExportResult",
    "ExportTargetError",
    "ExportView",
    "fewshot_block",
    "FewShotBlock",
    "Message",
    "new_export_dir",
    "preview_export",
    "recent_exports",
    "Residual",
    "ResidualPIIError",
    "token_counter",
    "write_export",
]
