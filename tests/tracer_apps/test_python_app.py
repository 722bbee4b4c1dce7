"""tracer_apps/python/app.py without ddtrace: the start signal and the metrics it renders (the
app imports ddtrace only inside main)."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from tracer_apps import ROOT


def load_app() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ddtrace_py_app", ROOT / "python" / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


app = load_app()


def test_start_is_refused_until_loaded_then_idempotent_then_409() -> None:
    signal = app.StartSignal({"RC_STUB_START_SIGNAL": "http", "RC_STUB_START_AT": "100"})
    assert signal.http and signal.deadline == 100.0
    assert signal.state() == (503, {"ready": False, "started": False, "tracers": 1})
    assert signal.release(b'{"start_at": 5}')[0] == 503
    signal.ready = True
    assert signal.state()[0] == 200
    status, answer = signal.release(b'{"start_at": 5}')
    assert status == 200 and answer["start_at"] == 5 and answer["late_s"] > 0
    assert signal.released.is_set()
    assert signal.release(b'{"start_at": 5}')[0] == 200
    assert signal.release(b'{"start_at": 6}')[0] == 409
    assert signal.state() == (200, {"ready": True, "started": True, "tracers": 1, "start_at": 5})


def test_bad_bodies_are_400() -> None:
    signal = app.StartSignal({})
    signal.ready = True
    assert not signal.http and signal.deadline is None
    for body in (b"nope", b"[]", b'{"start_at": true}', b'{"start_at": "1"}', b'{"x": 1}'):
        assert signal.release(body)[0] == 400, body


def test_metrics_use_the_stub_names() -> None:
    report = app.Report(7, "rid", "4.16.0")
    report.set("tracer_provider_ready_seconds", 1.5)
    report.set_outcome("ready")
    text = report.render().decode()
    assert 'tracer_outcome{tracer="7",outcome="ready"} 1.0' in text
    assert 'tracer_provider_ready_seconds{tracer="7"} 1.5' in text
    assert 'tracer_app_info{app="ddtrace-py",version="4.16.0"} 1.0' in text
    report.set_outcome("timeout")  # a later PROVIDER_ERROR does not undo READY
    assert 'outcome="ready"} 1.0' in report.render().decode()
