"""deduce's lookup cache: built once (at install), atomically, by one process at a time, and
rebuilt when it is corrupt. `python -m workbench.domain.privacy_cache` warms it.

deduce 3.0.6 pickles its lookup structures (~80 MB, 1.5-6 minutes of CPU to build) to
`<cache_path>/cache/lookup_structs.pickle` the first time `Deduce()` runs, writing the file in
place: a process killed meanwhile leaves a truncated pickle that every later `Deduce()` fails on
with EOFError, and processes starting together all build and write the same file. Here the
build runs under an exclusive `flock` on a lock file beside the cache, into a temporary file
that is fsynced and then renamed over the cache (`os.replace`), so a reader only ever sees a
whole pickle. A JSON stamp written after the rename records the deduce version, the file size
and when the build started; a cache is trusted only when its stamp matches, which catches a
truncated file without unpickling 80 MB. A cache that still fails to load is rebuilt once.

deduce's documented hook is `Deduce(cache_path=...)`; the build itself uses deduce's own
`get_lookup_structs(build=True, save_cache=False)`, so deduce never writes the cache itself.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import logging
import os
import pickle
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

__all__ = [
    "CACHE_ERRORS", "Builder", "build_with_deduce", "cache_file", "default_cache_dir",
    "import_deduce", "is_sound", "load_engine", "main", "warm_deduce_cache",
]  # fmt: skip

log = logging.getLogger(__name__)

Builder = Callable[[Path], None]  # writes a complete cache pickle to the path it is given
# What unpickling a damaged file raises; anything else is a real error and is not retried.
CACHE_ERRORS: tuple[type[BaseException], ...] = (
    EOFError, pickle.UnpicklingError, AttributeError, ImportError, IndexError, KeyError,
    TypeError, ValueError, OverflowError, MemoryError,
)  # fmt: skip
_PICKLE_STOP = b"."  # the last byte of every complete pickle


def default_cache_dir() -> Path:
    """Where `Deduce()` keeps its cache by default, its own lookup folder, when the cache there
    is sound or can be written; else (a read-only install) the user's cache folder."""
    own = Path(str(files("deduce") / "data" / "lookup"))
    if is_sound(own) or os.access(cache_file(own).parent, os.W_OK):
        return own
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "workbench" / "deduce"


def cache_file(cache_dir: Path) -> Path:
    return cache_dir / "cache" / "lookup_structs.pickle"


def _stamp_file(cache_dir: Path) -> Path:
    return cache_file(cache_dir).with_suffix(".stamp.json")


def _deduce_version() -> str:
    return importlib.metadata.version("deduce")


def _newest_source(cache_dir: Path) -> float:
    """The newest mtime among the source folders deduce itself checks (`<cache_path>/src/**`)."""
    return max((p.stat().st_mtime for p in (cache_dir / "src").glob("**")), default=0.0)


def is_sound(cache_dir: Path) -> bool:
    """True when the cache is whole and current, so `Deduce()` will load it and not rebuild.

    Mirrors deduce's own test (same version, no source folder changed after the build started)
    and adds what deduce lacks: the size recorded after the rename and the final STOP byte.
    """
    path = cache_file(cache_dir)
    try:
        stamp = json.loads(_stamp_file(cache_dir).read_text(encoding="utf-8"))
        size = path.stat().st_size
        with path.open("rb") as f:
            f.seek(-1, os.SEEK_END)
            last = f.read(1)
    except (OSError, ValueError):
        return False
    return (
        isinstance(stamp, dict)
        and stamp.get("deduce_version") == _deduce_version()
        and stamp.get("size") == size
        and last == _PICKLE_STOP
        and _newest_source(cache_dir) < float(stamp.get("started", 0))
    )


@contextlib.contextmanager
def _exclusive(cache_dir: Path) -> Iterator[None]:
    """One builder at a time, across processes. The lock file stays: removing it would let a
    waiting process lock a file that a newcomer no longer sees."""
    lock = cache_file(cache_dir).with_suffix(".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a") as handle:
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock; the rename still keeps readers safe
            yield
            return
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _write_json_atomically(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, path)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # some filesystems cannot fsync a directory
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _leftovers(cache_dir: Path) -> list[Path]:
    return list(cache_file(cache_dir).parent.glob("*.tmp"))


def _tidy(cache_dir: Path) -> None:
    """Remove temporary files of killed builders (80 MB each). Call under `_exclusive`: a live
    builder holds the lock, so whatever is left is a dead one's."""
    for leftover in _leftovers(cache_dir):
        leftover.unlink(missing_ok=True)


def _build_atomically(cache_dir: Path, build: Builder) -> None:
    """Build into a temporary file, then rename it over the cache. Call under `_exclusive`."""
    target = cache_file(cache_dir)
    _tidy(cache_dir)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    started = time.time()
    try:
        build(tmp)
        with tmp.open("rb") as f:
            os.fsync(f.fileno())
        _stamp_file(cache_dir).unlink(missing_ok=True)  # a crash from here on: no stamp, rebuild
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    finally:
        tmp.unlink(missing_ok=True)
    stamp = {"deduce_version": _deduce_version(), "size": target.stat().st_size,
             "started": started}  # fmt: skip
    _write_json_atomically(_stamp_file(cache_dir), stamp)


def _adopt(cache_dir: Path) -> bool:
    """Stamp a cache deduce wrote itself (before this module existed) if it loads and is
    current: one 10-second load instead of a rebuild of minutes. Call under `_exclusive`."""
    path = cache_file(cache_dir)
    if _stamp_file(cache_dir).exists() or not path.exists():
        return False
    try:
        with path.open("rb") as f:
            data = pickle.load(f)
        saved = datetime.fromisoformat(data["saved_datetime"]).timestamp()
        current = data["deduce_version"] == _deduce_version()
    except CACHE_ERRORS:
        return False
    if not current or _newest_source(cache_dir) >= saved:
        return False
    stamp = {"deduce_version": _deduce_version(), "size": path.stat().st_size, "started": saved}
    _write_json_atomically(_stamp_file(cache_dir), stamp)
    return True


def import_deduce() -> Any:
    """The `deduce` package. Importing it calls logging.basicConfig(DEBUG, stdout); that is
    undone so the app's logging stays as configured."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    import deduce
    import deduce.lookup_structs

    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    return deduce


def build_with_deduce(target: Path) -> None:
    """deduce's own build of its lookup structures, pickled in deduce's cache format."""
    deduce = import_deduce()
    lookup_path = deduce.deduce._LOOKUP_LIST_PATH

    version = _deduce_version()
    structs = deduce.lookup_structs.get_lookup_structs(
        lookup_path=lookup_path,
        cache_path=target.parent,
        tokenizer=deduce.Deduce._initialize_tokenizer(lookup_path),
        deduce_version=version,
        build=True,
        save_cache=False,
    )
    cache = {"deduce_version": version, "saved_datetime": str(datetime.now()),
             "lookup_structs": structs}  # fmt: skip
    with target.open("wb") as f:
        pickle.dump(cache, f)


def warm_deduce_cache(cache_dir: Path | None = None, *, build: Builder = build_with_deduce,
                      force: bool = False) -> bool:  # fmt: skip
    """Make sure a sound cache exists; True when this call built it.

    Parallel callers queue on the lock; whoever comes second finds the cache built and returns.
    """
    cache_dir = cache_dir or default_cache_dir()
    if not force and is_sound(cache_dir) and not _leftovers(cache_dir):
        return False
    with _exclusive(cache_dir):
        _tidy(cache_dir)
        if not force and (is_sound(cache_dir) or (_adopt(cache_dir) and is_sound(cache_dir))):
            return False
        log.info("building deduce's lookup cache in %s (minutes, once)", cache_dir)
        _build_atomically(cache_dir, build)
    return True


def _construct(cache_dir: Path) -> Any:
    return import_deduce().Deduce(cache_path=cache_dir)


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


def load_engine(cache_dir: Path | None = None, *, build: Builder = build_with_deduce,
                construct: Callable[[Path], Any] = _construct) -> Any:  # fmt: skip
    """deduce, loaded from a sound cache. A cache that passes the stamp check but still fails to
    unpickle (damaged in the middle) is rebuilt once, unless another process already did."""
    cache_dir = cache_dir or default_cache_dir()
    warm_deduce_cache(cache_dir, build=build)
    seen = _identity(cache_file(cache_dir))
    try:
        return construct(cache_dir)
    except CACHE_ERRORS as exc:
        log.warning("deduce's lookup cache did not load (%s: %s); rebuilding", type(exc).__name__,
                    exc)  # fmt: skip
        with _exclusive(cache_dir):
            if _identity(cache_file(cache_dir)) == seen:
                _build_atomically(cache_dir, build)
        return construct(cache_dir)


def main(argv: list[str] | None = None) -> int:
    """Warm the cache (for `make install`); prints what it did and how long it took."""
    parser = argparse.ArgumentParser(prog="python -m workbench.domain.privacy_cache",
                                     description=main.__doc__)  # fmt: skip
    parser.add_argument("--cache-dir", type=Path, default=None, help="default: deduce's own")
    parser.add_argument("--force", action="store_true", help="rebuild even if sound")
    args = parser.parse_args(argv)
    cache_dir = args.cache_dir or default_cache_dir()
    start = time.perf_counter()
    built = warm_deduce_cache(cache_dir, force=args.force)
    verb = "built" if built else "already sound:"
    took = time.perf_counter() - start
    print(f"deduce lookup cache {verb} {cache_file(cache_dir)} ({took:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
