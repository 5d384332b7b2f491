"""Shared fixtures: the bundled corpus indexed once per test session."""

from __future__ import annotations

import os

# Set before anything imports them: nothing may be fetched from a hub, and ranx's numba
# kernels would spend a minute compiling for a few dozen toy questions.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("NUMBA_DISABLE_JIT", "1")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture(scope="session")
def bundled_index(tmp_path_factory) -> Path:
    """An index of data/ built the way `peel ingest` builds it: with the corpus-adapted model
    when `peel adapt` has made one (scripts/setup.sh does), embedding ~2,600 texts once."""
    from index import api
    from index.paths import default_model

    path = tmp_path_factory.mktemp("bundled") / "index"
    api.build([DATA], path, model=default_model())
    return path


@pytest.fixture(scope="session")
def bundled_searcher(bundled_index):
    from index import api

    return api.open_index(bundled_index)


@pytest.fixture
def run_app(monkeypatch):
    """Run the Streamlit app headless over ``index`` with URL parameters; fails on an exception."""
    from streamlit.testing.v1 import AppTest

    app = str(Path(__file__).resolve().parent.parent / "search_app" / "app.py")

    def run(index: Path, **params) -> AppTest:
        monkeypatch.setenv("PEEL_INDEX", str(index))
        at = AppTest.from_file(app, default_timeout=180)
        for key, value in params.items():
            at.query_params[key] = value
        at.run()
        assert not at.exception, at.exception
        return at

    return run
