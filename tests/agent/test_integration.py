"""End to end: ``python -m fake_backend`` and ``python -m agent`` as real processes on 127.0.0.1.

A new client asking for FFE_FLAGS receives a target file whose sha256 and length match the
signed targets, ``client_configs`` lists it, and the next poll at that version gets ``{}``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import httpx
import pytest

from harness.runtime.local import free_port
from rc_protocol.wait import poll_until
from rc_protocol.wire import TargetFileHash, TargetFileMeta, encode_request
from tests.agent.conftest import request

pytestmark = pytest.mark.e2e


def spawn(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RC_", "DD_"))}
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", *args], stdout=out, stderr=subprocess.STDOUT, env=env
        )


def healthy(url: str) -> bool:
    try:
        return httpx.get(url + "/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def services(tmp_path: Path) -> Iterator[str]:
    backend_port, agent_port = free_port(), free_port()
    backend_url = f"http://127.0.0.1:{backend_port}"
    agent_url = f"http://127.0.0.1:{agent_port}"
    backend_args = ["fake_backend", "--host", "127.0.0.1", "--port", str(backend_port)]
    agent_args = [
        "agent",
        "--host",
        "127.0.0.1",
        "--port",
        str(agent_port),
        "--backend-url",
        backend_url,
        "--run-id",
        "e2e",
        "--api-key",
        "e2e-key",
    ]
    procs = [
        spawn(backend_args, tmp_path / "backend.log"),
        spawn(agent_args, tmp_path / "agent.log"),
    ]
    try:
        for url, name in ((backend_url, "backend"), (agent_url, "agent")):
            poll_until(partial(healthy, url), timeout=30, interval=0.1, what=f"{name} /health")
        yield agent_url
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc, name in zip(procs, ("backend", "agent"), strict=True):
            code = proc.wait(timeout=15)
            log = (tmp_path / f"{name}.log").read_text()[-2000:]
            assert code == 0, f"{name} exited with {code}:\n{log}"
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=5)


def test_new_ffe_client_gets_a_verified_file_then_empty(services: str) -> None:
    url = services + "/v0.7/config"
    body = encode_request(request(7, ["FFE_FLAGS"]), bytes_as="array")

    def first_update() -> dict[str, object] | None:
        answer = httpx.post(url, content=body, timeout=5)
        assert answer.status_code == 200, answer.text
        doc: dict[str, object] = answer.json()
        return doc if doc.get("target_files") else None

    doc = poll_until(first_update, timeout=15, interval=0.5, what="an FFE_FLAGS update")
    targets = json.loads(base64.b64decode(str(doc["targets"])))
    signed = targets["signed"]
    files = {f["path"]: base64.b64decode(f["raw"]) for f in doc["target_files"]}  # type: ignore[attr-defined]
    ffe = [p for p in files if p.split("/")[2] == "FFE_FLAGS"]
    assert ffe, files.keys()
    assert doc["client_configs"] == sorted(signed["targets"])  # every matched path listed
    for path in ffe:
        meta = signed["targets"][path]
        assert len(files[path]) == meta["length"]
        assert hashlib.sha256(files[path]).hexdigest() == meta["hashes"]["sha256"]
        assert path in doc["client_configs"]
    cached = [
        TargetFileMeta(
            path=p,
            length=len(raw),
            hashes=[TargetFileHash(algorithm="sha256", hash=hashlib.sha256(raw).hexdigest())],
        )
        for p, raw in files.items()
    ]
    again = request(7, ["FFE_FLAGS"], targets_version=signed["version"])
    again.cached_target_files = cached
    answer = httpx.post(url, content=encode_request(again), timeout=5)
    assert answer.status_code == 200 and answer.content == b"{}"
    metrics = httpx.get(services + "/metrics", timeout=5).text
    assert 'agent_rc_requests_total{lane="fast",outcome="no_update"} 1.0' in metrics
