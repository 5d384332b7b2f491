"""`peel serve`: the HTTP JSON API, driven with a real HTTP client against a real server."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from index import api

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _serve(index: Path):
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "search_app.cli", "serve", "--index", str(index),
                             "--port", str(port)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=30).status_code == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"peel serve did not start: {proc.stdout.read().decode() if proc.stdout else ''}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=15)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from tests.multi_force import build

    index = build(tmp_path_factory.mktemp("serve"))
    with _serve(index) as url:
        yield url, index


def test_search_and_ask_return_what_the_cli_prints(server):
    url, index = server
    question = "what did inspectors say about stop and search?"
    got = httpx.get(f"{url}/search", params={"q": question, "k": 3}, timeout=60).json()
    want = api.search(api.open_index(index), question, k=3).to_dict()
    assert [h["chunk_id"] for h in got["hits"]] == [h["chunk_id"] for h in want["hits"]]
    assert got["hits"][0]["citation"]["label"] == want["hits"][0]["citation"]["label"]
    posted = httpx.post(f"{url}/search", json={"q": question, "k": 3}, timeout=60).json()
    assert [h["chunk_id"] for h in posted["hits"]] == [h["chunk_id"] for h in got["hits"]]
    answer = httpx.get(f"{url}/ask", params={"q": question, "by": "force"}, timeout=60).json()
    assert answer["group_by"] == "force" and len(answer["groups"]) == 3
    only = httpx.get(f"{url}/search", params={"q": question, "force": ["Kent Police"]}, timeout=60).json()
    assert {h["force"] for h in only["hits"]} == {"Kent Police"}


def test_documents_version_health_export_and_docs(server):
    url, index = server
    docs = httpx.get(f"{url}/documents", timeout=30).json()
    assert sorted(d["doc_id"] for d in docs) == ["dorset-peel-2018", "kent-peel-2018", "surrey-peel-2018"]
    version = httpx.get(f"{url}/version", timeout=30).json()
    assert version["counts"]["documents"] == 3 and version["corpus_fingerprint"]
    assert version["version"] == api.index_version(index)  # the folder's current version answers
    ris = httpx.get(f"{url}/export", params={"q": "stop and search", "format": "ris"}, timeout=60)
    assert ris.status_code == 200 and ris.text.startswith("TY  - RPRT")
    assert httpx.get(f"{url}/openapi.json", timeout=30).json()["paths"]["/ask"]


@pytest.mark.parametrize(("params", "word"), [
    ({"q": ""}, "q"), ({"q": "x" * 2001}, "q"), ({"q": "search", "k": 0}, "k"), ({"q": "search", "k": 5000}, "k"),
    ({"q": "search", "mode": "fuzzy"}, "mode"), ({"q": "search", "year": "last decade"}, "year"),
    ({"q": "search", "by": "county"}, "by"),
])
def test_bad_parameters_get_a_422_that_names_them(server, params, word):
    url, _ = server
    path = "/ask" if "by" in params else "/search"
    r = httpx.get(f"{url}{path}", params=params, timeout=30)
    assert r.status_code == 422
    assert word in r.text


def test_a_rebuilt_index_is_served_without_a_restart(tmp_path):
    from tests.multi_force import build

    index = build(tmp_path)
    with _serve(index) as url:
        assert len(httpx.get(f"{url}/documents", timeout=30).json()) == 3
        corpus = tmp_path / "corpus"
        (corpus / "dorset-peel-2018.md").unlink()
        api.build([corpus], index, model=None)  # the swap a rebuild makes
        ids = sorted(d["doc_id"] for d in httpx.get(f"{url}/documents", timeout=30).json())
        assert ids == ["kent-peel-2018", "surrey-peel-2018"]
        assert "Dorset" not in httpx.get(f"{url}/search", params={"q": "body-worn video"}, timeout=60).text


def test_queries_during_a_rebuild_are_each_answered_by_one_complete_index(tmp_path):
    """Threads keep asking while a rebuild swaps a new index in: every answer names the one
    index version that answered (X-Peel-Index), and its passages all belong to that version."""
    import threading

    from tests.multi_force import build

    index = build(tmp_path)
    corpus = tmp_path / "corpus"
    with _serve(index) as url:
        old = httpx.get(f"{url}/search", params={"q": "stop and search"}, timeout=60).headers["X-Peel-Index"]
        seen: list[tuple[str, set[str]]] = []
        failures: list[int] = []
        stop = threading.Event()

        def ask() -> None:
            with httpx.Client(timeout=60) as client:
                while not stop.is_set():
                    r = client.get(f"{url}/search", params={"q": "stop and search powers", "k": 10})
                    if r.status_code != 200:
                        failures.append(r.status_code)
                        continue
                    seen.append((r.headers["X-Peel-Index"], {h["doc_id"] for h in r.json()["hits"]}))

        threads = [threading.Thread(target=ask) for _ in range(3)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 120
        while len(seen) < 6 and time.monotonic() < deadline:  # answers from the old index first
            time.sleep(0.05)
        (corpus / "dorset-peel-2018.md").unlink()
        api.build([corpus], index, model=None)
        n = len(seen)
        while len(seen) < n + 6 and time.monotonic() < deadline:  # and then from the new one
            time.sleep(0.05)
        stop.set()
        for t in threads:
            t.join(timeout=120)
    assert not failures
    versions = {v for v, _ in seen}
    assert old in versions and len(versions) == 2  # the old one, then the new one
    for version, docs in seen:
        if version != old:
            assert "dorset-peel-2018" not in docs  # the new index has no Dorset: never mixed in
    assert any("dorset-peel-2018" in docs for v, docs in seen if v == old)
