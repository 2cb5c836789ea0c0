"""The app's Streamlit settings (.streamlit/config.toml), as Streamlit itself reads them."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_no_full_garbage_collection_after_every_script_run(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """Streamlit's default runs gc.collect(2) after every script run, holding the GIL: with
    six people at once that was a third of the app's busy time (bench/page_latency.py).
    Python's own collector still runs; reference counting frees the rest."""
    from streamlit import config

    assert "runner.postScriptGC" in config._config_options_template  # not renamed away
    monkeypatch.chdir(ROOT)  # where `workbench start` and `make run` start the app
    try:
        config.get_config_options(force_reparse=True)
        assert config.get_option("runner.postScriptGC") is False
    finally:
        monkeypatch.undo()
        config.get_config_options(force_reparse=True)
