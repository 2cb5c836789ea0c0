"""Fixtures for the conversation engine and runner tests: a fault server and openai targets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from workbench.bots.faults import FaultPlan, FaultyChatApp, Latency
from workbench.bots.server import RunningServer


@pytest.fixture
def fault_server() -> Iterator[RunningServer]:
    """A fault-injecting OpenAI-protocol server on 127.0.0.1 serving the reference bot."""
    app = FaultyChatApp(plan=FaultPlan(), latency=Latency(first_chunk_ms=5))
    with RunningServer(app) as server:
        yield server
