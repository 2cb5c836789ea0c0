"""The real local model of the local_model tests: llama.cpp's OpenAI-compatible server
(llama-cpp-python) with Gemma 3 270M, both installed by `make install-local-model`.

`missing_reason()` says why the tests must skip (nothing is built here: a build belongs to the
install step); `LocalModelServer` starts the server on a free port on 127.0.0.1 and stops it.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

# Where the Makefile assembles the GGUF file (the package ships it in four chunks).
GGUF = Path(sys.prefix) / "models" / "gemma-3-270m-q4_k_m.gguf"
MODEL = "gemma-3-270m"  # the name the server answers to (--model_alias)
N_CTX = 4096  # the judge's material (rubric, scenario, conversation) is ~1,500 tokens
INSTALL = ("install it with `make install-local-model` (compiles llama.cpp once, minutes; "
           "a failed build is logged in .venv/local-model.log)")
START_TIMEOUT_S = 90.0
# OpenMP's threads spin while they wait for each other; on 2 cores shared with another process
# (pytest, a parallel test run) that made a 48-token reply take 4-13 s instead of 1.5-2.5 s.
SERVER_ENV = {"OMP_WAIT_POLICY": "PASSIVE"}
CHAT_TEMPLATE = Path(__file__).resolve().parent / "data" / "gemma3-tokenizer-config.json"


def missing_reason() -> str | None:
    """None when the server package and the model file are installed, else why they are not."""
    if importlib.util.find_spec("llama_cpp") is None:
        return f"llama-cpp-python is not installed in {sys.prefix}: {INSTALL}"
    missing = [m for m in ("fastapi", "uvicorn", "sse_starlette", "starlette_context")
               if importlib.util.find_spec(m) is None]
    if missing:
        return (f"llama-cpp-python's server extra is missing ({', '.join(missing)}): "
                f"{INSTALL}")
    if not GGUF.is_file():
        return f"the Gemma 3 270M model file {GGUF} is missing: {INSTALL}"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LocalModelServer:
    """A running `python -m llama_cpp.server`; `log` holds its stderr (llama.cpp's timings)."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path
    start_s: float  # from spawning to the first answer of /v1/models

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def peak_rss_mb(self) -> float | None:
        """The server's peak resident memory so far (Linux), for the report of figures."""
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def server_command(port: int, *, n_ctx: int = N_CTX) -> list[str]:
    # The GGUF file has no chat template, so without a chat format the server falls back to
    # Llama 2's [INST] format, and its "gemma" format drops the system prompt: the one thing a
    # bot target versions. CHAT_TEMPLATE gives Gemma 3's own turns, system prompt included.
    return [sys.executable, "-m", "llama_cpp.server", "--model", str(GGUF),
            "--model_alias", MODEL, "--host", "127.0.0.1", "--port", str(port),
            "--n_ctx", str(n_ctx), "--n_threads", "2", "--n_threads_batch", "2",
            "--chat_format", "hf-tokenizer-config",
            "--hf_tokenizer_config_path", str(CHAT_TEMPLATE),
            # The server keeps logits for every position by default: n_ctx x 262,144 (Gemma's
            # vocabulary) floats, 4.3 GB at n_ctx 4096, and slower prompt evaluation.
            "--logits_all", "false"]


@contextmanager
def running_server(log: Path, *, n_ctx: int = N_CTX) -> Iterator[LocalModelServer]:
    """Start the server, wait (bounded) until /v1/models answers, and stop it at the end."""
    port = free_port()
    started = time.perf_counter()
    with log.open("wb") as sink:
        # Its own session, so that stopping it never signals pytest's process group.
        process = subprocess.Popen(server_command(port, n_ctx=n_ctx), stdout=sink,
                                   stderr=subprocess.STDOUT, start_new_session=True,
                                   env={**os.environ, **SERVER_ENV})
    server = LocalModelServer(process, port, log, 0.0)
    try:
        server.start_s = _wait_until_ready(server, started)
        yield server
    finally:
        _stop(process)


def _wait_until_ready(server: LocalModelServer, started: float) -> float:
    deadline = started + START_TIMEOUT_S
    while time.perf_counter() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"llama_cpp.server exited with {server.process.returncode} "
                               f"before answering:\n{server.log_tail()}")
        try:
            if httpx.get(f"{server.base_url}/models", timeout=2.0).status_code == 200:
                return time.perf_counter() - started
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"llama_cpp.server did not answer /v1/models within "
                       f"{START_TIMEOUT_S:.0f} s:\n{server.log_tail()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


