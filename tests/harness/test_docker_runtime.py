"""harness.runtime.docker: the runtime on fakes, then against a real engine (``docker``).

The engine tests run a stand-in service from the harness image: ``python -m uvicorn --factory
prometheus_client:make_asgi_app`` accepts the runtime's ``--host/--port`` and answers every path
(``/health`` included) with 200, so the runtime is tested apart from the services' own code.
The pure helpers and engine calls are test_docker_engine.py.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from harness.cli.app import app
from harness.errors import ComponentStartError, HarnessError, ImageMissingError
from harness.runtime.base import ComponentHandle, ComponentSpec, ComponentStatus
from harness.runtime.docker import DockerRuntime
from harness.runtime.docker_engine import (
    LABEL_ROLE,
    LABEL_RUN_ID,
    SweepResult,
    connect,
    leftovers,
    sweep,
)
from harness.runtime.images import SOURCE_DIGEST_LABEL, source_digest
from harness.runtime.reaper import RunGuard
from rc_protocol.wait import WaitTimeout, poll_until


class _Networks:
    def create(self, name: str, **options: Any) -> None:
        import docker.errors

        raise docker.errors.APIError(
            "500", explanation="could not find an available, non-overlapping IPv4 address pool"
        )

    def list(self, **filters: Any) -> list[Any]:
        return []


class _CurrentImages:
    def get(self, tag: str) -> Any:
        labels = {SOURCE_DIGEST_LABEL: source_digest()}
        return SimpleNamespace(attrs={"Config": {"Labels": labels}})


def lock_only(run_id: str) -> RunGuard:
    """The run's lock in a folder of its own, and no reaper (these engines are fakes)."""
    return RunGuard(run_id, docker=True, directory=Path(tempfile.mkdtemp()), reaper=False)


class _NoPoolClient:
    """An engine with an up-to-date image whose network address pools are used up."""

    images = _CurrentImages()
    networks = _Networks()
    api = SimpleNamespace(base_url="http+docker://localhost")

    def info(self) -> dict[str, str]:
        return {"OperatingSystem": "Debian GNU/Linux 12 (bookworm)"}


def test_network_that_cannot_be_created_is_a_clear_error() -> None:
    runtime = DockerRuntime("pool", guard=lock_only("pool"), client=_NoPoolClient())
    with pytest.raises(HarnessError, match="address pool") as info:
        runtime.start([standin("backend", "backend")])
    assert "`harness down` removes them" in str(info.value)


def test_close_says_so_when_a_container_start_outlasts_its_wait() -> None:
    out = io.StringIO()
    runtime = DockerRuntime("slow", guard=lock_only("slow"), client=object(), keep=True, out=out)
    runtime.close_wait_s = 0.01
    runtime._inflight = 1  # a create/start that has not returned
    runtime.close()
    assert "still running after 0.01 s" in out.getvalue()
    assert "harness down --run-id slow" in out.getvalue()


def test_closing_a_runtime_that_never_started_anything_needs_no_engine() -> None:
    runtime = DockerRuntime("idle", guard=lock_only("idle"))
    runtime.close()
    runtime.close()  # idempotent
    assert runtime._client is None  # closing did not connect to an engine to sweep nothing


# --- against a real engine --------------------------------------------------------------------

STANDIN_ARGS = ("--factory", "prometheus_client:make_asgi_app")


def standin(name: str, role: Any = "tracer", **env: str) -> ComponentSpec:
    return ComponentSpec(name, role, "uvicorn", env=env, args=STANDIN_ARGS, tracers=1)


def wait_healthy(handle: ComponentHandle, timeout: float = 30.0) -> None:
    try:
        poll_until(
            lambda: httpx.get(handle.host_url + "/health", timeout=1).status_code == 200,
            timeout=timeout,
            interval=0.2,
            what=f"{handle.spec.name} healthy",
            ignore=(httpx.HTTPError,),
        )
    except WaitTimeout:
        pytest.fail(f"{handle.spec.name} never healthy:\n{handle.log_tail()}")


def wait_exited(handle: ComponentHandle, timeout: float = 30.0) -> None:
    try:
        poll_until(
            lambda: handle.state().status is ComponentStatus.EXITED,
            timeout=timeout,
            interval=0.2,
            what=f"{handle.spec.name} exited",
        )
    except WaitTimeout:
        pytest.fail(f"{handle.spec.name} still {handle.state()}")


def assert_isolated(client: Any, container: Any, rid: str) -> None:
    """No capability, no privilege gain, pids and memory limits, no published port, and an
    internal network from which nothing outside answers."""
    host = container.attrs["HostConfig"]
    assert host["CapDrop"] == ["ALL"] and host["SecurityOpt"] == ["no-new-privileges:true"]
    assert host["PidsLimit"] > 0 and host["Memory"] > 0
    assert not container.attrs["NetworkSettings"]["Ports"], "nothing published"
    assert client.networks.get(f"rcfl-{rid}").attrs["Internal"] is True
    status = container.exec_run(["grep", "-E", "^(CapEff|NoNewPrivs)", "/proc/self/status"])
    assert status.output.decode().split() == ["CapEff:", "0000000000000000", "NoNewPrivs:", "1"]
    egress = (
        "import socket; s = socket.socket(); s.settimeout(3)\n"
        "try:\n s.connect(('1.1.1.1', 80)); print('out')\n"
        "except OSError as e:\n print('blocked', e)"
    )
    assert container.exec_run(["python", "-c", egress]).output.decode().startswith("blocked")


@pytest.fixture
def client() -> Iterator[Any]:
    client = connect()
    yield client
    client.close()


def run_id(request: pytest.FixtureRequest) -> str:
    return "t" + format(abs(hash(request.node.nodeid)) % 16**6, "06x")


@pytest.mark.docker
def test_start_serve_label_and_clean_up(
    harness_image: str, client: Any, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    rid = run_id(request)
    with DockerRuntime(rid, image=harness_image, log_dir=tmp_path / "logs") as runtime:
        handles = runtime.start([standin("backend", "backend"), standin("agent", "agent")])
        tracers = runtime.start(
            [standin(f"tracers-{i:03d}", RC_STUB_TRACERS="1") for i in range(4)]
        )
        assert [h.spec.name for h in runtime.handles()] == [
            "backend",
            "agent",
            *(f"tracers-{i:03d}" for i in range(4)),
        ]
        for handle in [*handles, *tracers]:
            wait_healthy(handle)
        assert runtime.network_mode == "internal", "a local Linux engine: internal network"
        assert tracers[0].internal_url == f"http://rcfl-{rid}-tracers-000:8000"

        container = client.containers.get(f"rcfl-{rid}-agent")
        assert container.labels[LABEL_RUN_ID] == rid
        assert container.labels[LABEL_ROLE] == "agent"
        assert container.attrs["Config"]["Env"].count("RC_STUB_TRACERS=1") == 0
        assert (
            "RC_STUB_TRACERS=1"
            in client.containers.get(f"rcfl-{rid}-tracers-003").attrs["Config"]["Env"]
        )
        uid = container.exec_run(["id", "-u"]).output.decode().strip()
        assert uid != "0", "containers run as a non-root user"
        assert_isolated(client, container, rid)
        address = container.attrs["NetworkSettings"]["Networks"][f"rcfl-{rid}"]["IPAddress"]
        assert handles[1].host_url == f"http://{address}:8000", "reached on the run's network"
        mounts = container.attrs["Mounts"]
        assert not any("docker.sock" in m.get("Source", "") for m in mounts)
        # Another component reaches the agent by its internal URL, on the run's network.
        probe = (
            "import urllib.request as u; "
            f"print(u.urlopen('{handles[1].internal_url}/health', timeout=5).status)"
        )
        got = client.containers.get(f"rcfl-{rid}-tracers-000").exec_run(["python", "-c", probe])
        assert got.output.decode().strip() == "200", got.output
        # ...but no outside name resolves from inside a container.
        dns = "import socket; socket.getaddrinfo('deb.debian.org', 80)"
        assert container.exec_run(["python", "-c", dns]).exit_code != 0

        runtime.stop(tracers[:1], timeout=5)
        assert tracers[0].state().status is ComponentStatus.EXITED
        assert tracers[1].state().status is ComponentStatus.RUNNING
        runtime.save_logs(tmp_path / "saved")
        saved = (tmp_path / "saved" / "tracers-000.log").read_text()
        assert "GET /health" in saved
    assert leftovers(client, rid) == ([], [])
    runtime.close()  # idempotent after the with-block


@pytest.mark.docker
def test_crashing_container_is_reported_with_its_logs(
    harness_image: str, client: Any, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    rid = run_id(request)
    with DockerRuntime(rid, image=harness_image, log_dir=tmp_path) as runtime:
        try:
            [handle] = runtime.start([ComponentSpec("agent", "agent", "no_such_module")])
        except ComponentStartError as exc:  # exited before start() looked: also correct
            assert "No module named" in exc.log_tail
        else:
            wait_exited(handle)
            state = handle.state()
            assert state.exit_code == 1 and state.crashed
            assert "No module named no_such_module" in handle.log_tail()
    assert "No module named" in (tmp_path / "agent.log").read_text(), "close() saves logs"
    assert leftovers(client, rid) == ([], [])


@pytest.mark.docker
def test_oom_killed_container_is_a_crash(
    harness_image: str, client: Any, request: pytest.FixtureRequest
) -> None:
    rid = run_id(request)
    with DockerRuntime(rid, image=harness_image, mem_limit="10m") as runtime:
        try:
            [handle] = runtime.start([standin("tracers-000")])
        except ComponentStartError as exc:  # killed before start() looked: also correct
            assert "exit code 137" in str(exc)
            return
        wait_exited(handle)
        state = handle.state()
        assert state.oom_killed and state.crashed, state
    assert leftovers(client, rid) == ([], [])


@pytest.mark.docker
def test_error_inside_the_run_still_removes_everything(
    harness_image: str, client: Any, request: pytest.FixtureRequest
) -> None:
    rid = run_id(request)
    with pytest.raises(RuntimeError, match="boom"), DockerRuntime(rid, image=harness_image) as rt:
        rt.start([standin(f"tracers-{i:03d}") for i in range(3)])
        assert len(leftovers(client, rid)[0]) == 3
        raise RuntimeError("boom")
    assert leftovers(client, rid) == ([], [])


@pytest.mark.docker
def test_keep_leaves_the_stack_and_down_removes_it(
    harness_image: str, client: Any, request: pytest.FixtureRequest
) -> None:
    import io

    rid = run_id(request)
    out = io.StringIO()
    with DockerRuntime(rid, image=harness_image, keep=True, out=out) as runtime:
        handles = runtime.start([standin("backend", "backend")])
        runtime.stop(handles)
        assert handles[0].state().status is ComponentStatus.RUNNING, "--keep: the stack stays up"
    assert f"harness down --run-id {rid}" in out.getvalue()
    containers, networks = leftovers(client, rid)
    assert len(containers) == 1 and len(networks) == 1
    down = CliRunner().invoke(app, ["down", "--run-id", rid])
    assert down.exit_code == 0, down.output
    assert f"removed 0 processes, 1 containers and 1 networks (runs: {rid})" in down.output
    assert leftovers(client, rid) == ([], [])
    assert sweep(client, rid) == SweepResult(0, 0, ())


@pytest.mark.docker
def test_missing_image_is_a_clear_error(client: Any, request: pytest.FixtureRequest) -> None:
    rid = run_id(request)
    with (
        pytest.raises(ImageMissingError, match="harness image build --tag rc-fastlane:absent"),
        DockerRuntime(rid, image="rc-fastlane:absent") as runtime,
    ):
        runtime.start([standin("backend", "backend")])
    assert leftovers(client, rid) == ([], [])
