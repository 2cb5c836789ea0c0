"""deduce's lookup cache: a truncated or damaged cache is rebuilt, parallel processes build it
once, a builder killed halfway leaves no cache behind, and `make install` warms it."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.privacy_cache_support import load, quick_build
from workbench.domain.privacy_cache import (
    cache_file,
    default_cache_dir,
    is_sound,
    load_engine,
    warm_deduce_cache,
)

ROOT = Path(__file__).resolve().parent.parent


class _Counting:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, target: Path) -> None:
        self.calls += 1
        quick_build(target)


def _support(cache_dir: Path, log: Path, delay: float) -> subprocess.Popen[str]:
    env = {**os.environ, "WORKBENCH_TEST_LOG": str(log), "WORKBENCH_TEST_DELAY": str(delay)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.privacy_cache_support", str(cache_dir)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_a_truncated_cache_is_detected_and_rebuilt(tmp_path: Path) -> None:
    build = _Counting()
    assert warm_deduce_cache(tmp_path, build=build) and is_sound(tmp_path)
    path = cache_file(tmp_path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])  # killed mid-write
    assert not is_sound(tmp_path)
    assert load_engine(tmp_path, build=build, construct=load)["first_name"][0] == ["Naam0"]
    assert build.calls == 2 and is_sound(tmp_path)
    assert not warm_deduce_cache(tmp_path, build=build) and build.calls == 2


def test_a_cache_damaged_inside_is_rebuilt_once(tmp_path: Path) -> None:
    build = _Counting()
    warm_deduce_cache(tmp_path, build=build)
    path = cache_file(tmp_path)
    data = bytearray(path.read_bytes())
    data[2:200] = b"\xff" * 198  # same size, same last byte: the stamp cannot tell
    path.write_bytes(bytes(data))
    assert is_sound(tmp_path)
    with pytest.raises(Exception):  # noqa: B017 - whatever unpickling garbage raises
        load(tmp_path)
    assert load_engine(tmp_path, build=build, construct=load)["first_name"][1] == ["Naam1"]
    assert build.calls == 2


def test_a_stale_or_unstamped_cache(tmp_path: Path) -> None:
    build = _Counting()
    path = cache_file(tmp_path)
    path.parent.mkdir(parents=True)
    quick_build(path)  # as deduce itself writes it: no stamp, but whole and current
    assert not is_sound(tmp_path)
    assert not warm_deduce_cache(tmp_path, build=build) and build.calls == 0  # adopted
    assert is_sound(tmp_path)
    stamp = path.with_suffix(".stamp.json")
    stamp.write_text(json.dumps({**json.loads(stamp.read_text()), "deduce_version": "2.0"}))
    assert not is_sound(tmp_path)
    assert warm_deduce_cache(tmp_path, build=build) and build.calls == 1
    stamp.unlink()
    path.write_bytes(b"not a pickle.")
    assert warm_deduce_cache(tmp_path, build=build) and build.calls == 2


def test_parallel_processes_build_once(tmp_path: Path) -> None:
    log = tmp_path / "builds.log"
    procs = [_support(tmp_path / "cache", log, delay=1.5) for _ in range(3)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err for _, err in outs]
    assert sorted(out.strip() for out, _ in outs) == ["built", "found", "found"]
    assert len(log.read_text().split()) == 1
    assert is_sound(tmp_path / "cache") and load(tmp_path / "cache")["first_name"][4999]
    assert list(cache_file(tmp_path / "cache").parent.glob("*.tmp")) == []


def test_a_builder_killed_halfway_leaves_no_cache(tmp_path: Path) -> None:
    log = tmp_path / "builds.log"
    proc = _support(tmp_path, log, delay=60)
    deadline = time.monotonic() + 60
    while not (log.exists() and log.read_text().strip()):
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    target = cache_file(tmp_path)
    assert not target.exists() and not is_sound(tmp_path)
    assert len(list(target.parent.glob("*.tmp"))) == 1  # the half-written pickle, never renamed
    # The lock died with the process: the next builder gets it at once and tidies up.
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from pathlib import Path; "
         "from tests.privacy_cache_support import quick_build; "
         "from workbench.domain.privacy_cache import warm_deduce_cache; "
         "print(warm_deduce_cache(Path(sys.argv[1]), build=quick_build))", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.stdout.strip() == "True", done.stderr
    assert is_sound(tmp_path) and list(target.parent.glob("*.tmp")) == []
    # A builder killed after another one finished: its leftover goes on the next warm-up.
    (target.parent / f"{target.name}.99999.tmp").write_bytes(b"half")
    assert not warm_deduce_cache(tmp_path, build=quick_build)
    assert list(target.parent.glob("*.tmp")) == []


@pytest.mark.slow
def test_real_deduce_recovers_from_a_truncated_cache(tmp_path: Path) -> None:
    """What broke every scrub: deduce itself fails on a truncated pickle; load_engine does not."""
    from workbench.domain.privacy_cache import import_deduce

    real = default_cache_dir()
    warm_deduce_cache(real)  # a no-op after `make install`, which warms it
    truncated = cache_file(tmp_path)
    truncated.parent.mkdir(parents=True)
    truncated.write_bytes(b"")  # killed before the first write
    with pytest.raises(EOFError):
        import_deduce().Deduce(cache_path=tmp_path)
    truncated.write_bytes(cache_file(real).read_bytes()[:1_000_000])  # killed halfway
    with pytest.raises(pickle.UnpicklingError):
        import_deduce().Deduce(cache_path=tmp_path)

    def copy_real(target: Path) -> None:
        shutil.copyfile(cache_file(real), target)

    engine = load_engine(tmp_path, build=copy_real)
    doc = engine.deidentify("Jan Jansen woont in Utrecht.")
    assert {a.text for a in doc.annotations} >= {"Jan Jansen"}
    assert is_sound(tmp_path)


def test_make_install_warms_the_cache() -> None:
    makefile = (ROOT / "Makefile").read_text()
    for stamp in ("$(VENV)/.installed:", "$(VENV)/.installed-test:"):
        recipe = makefile.split(stamp, 1)[1].split("\n\n", 1)[0]
        assert "-m workbench.domain.privacy_cache" in recipe, stamp
