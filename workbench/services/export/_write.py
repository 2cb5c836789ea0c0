"""Writing an export: all files into a temporary folder beside the target, then one rename, so
a reader never sees half an export. Also the manifest bytes and a reproducible zip."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
# Zip entries get this fixed time, so the same export always zips to the same bytes.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class ExportTargetError(ValueError):
    """The output folder exists and is not empty."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """Sorted keys and a trailing newline: two identical manifests are identical bytes."""
    return (json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


def write_atomically(out_dir: Path, files: dict[str, bytes]) -> Path:
    """Write `files` (name → bytes) as the folder `out_dir`, which must not exist or be empty.

    The files go to a temporary folder in the same parent (same file system, so the rename is
    atomic); if anything fails the temporary folder is removed and `out_dir` is untouched.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ExportTargetError(f"{out_dir} exists and is not empty; choose a new folder")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        for name, data in sorted(files.items()):
            (tmp / name).write_bytes(data)
        if out_dir.exists():
            out_dir.rmdir()  # empty (checked above)
        tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def zip_dir(folder: Path) -> bytes:
    """The export folder as a zip (sorted entries, fixed times): what the page offers."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in Path(folder).iterdir() if p.is_file()):
            info = zipfile.ZipInfo(f"{Path(folder).name}/{path.name}", date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())
    return buf.getvalue()
