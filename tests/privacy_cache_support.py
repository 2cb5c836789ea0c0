"""Stand-ins for deduce's minutes-long cache build, importable by the subprocesses of
tests/test_privacy_cache.py: a quick builder, a slow one that logs and pauses halfway, and a
loader that unpickles the cache the way `Deduce(cache_path=...)` does."""

from __future__ import annotations

import importlib.metadata
import os
import pickle
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from workbench.domain.privacy_cache import cache_file, warm_deduce_cache


def fake_cache() -> bytes:
    """A pickle in deduce's cache format, big enough to be written in two halves."""
    cache = {
        "deduce_version": importlib.metadata.version("deduce"),
        "saved_datetime": str(datetime.now()),
        "lookup_structs": {"first_name": [[f"Naam{i}"] for i in range(5000)]},
    }
    return pickle.dumps(cache)


def quick_build(target: Path) -> None:
    target.write_bytes(fake_cache())


def slow_build(target: Path) -> None:
    """Logs this process's pid, writes half the pickle, pauses WORKBENCH_TEST_DELAY seconds."""
    data = fake_cache()
    with Path(os.environ["WORKBENCH_TEST_LOG"]).open("a") as log:
        log.write(f"{os.getpid()}\n")
    with target.open("wb") as f:
        f.write(data[: len(data) // 2])
        f.flush()
        time.sleep(float(os.environ.get("WORKBENCH_TEST_DELAY", "1")))
        f.write(data[len(data) // 2 :])


def load(cache_dir: Path) -> Any:
    with cache_file(cache_dir).open("rb") as f:
        return pickle.load(f)["lookup_structs"]


if __name__ == "__main__":  # python -m tests.privacy_cache_support CACHE_DIR
    built = warm_deduce_cache(Path(sys.argv[1]), build=slow_build)
    print("built" if built else "found")
