"""Admin API: change faults and configs while a run is going, and look at the backend's state.

All bodies and answers are JSON. Times are seconds relative to the moment of the call.

| method and path | body | effect |
|---|---|---|
| `GET /admin/state` | | faults, catalogue (paths, lengths, versions), targets version |
| `POST /admin/faults/latency` | `{"latency_ms": 100, "latency_spread_ms": 50}` | set latency |
| `POST /admin/faults/errors` | `{"error_rate": 0.2, "error_status": 503}` | set random errors |
| `POST /admin/faults/windows` | `{"kind": "rate_limit", "start_s": 5, "end_s": 15}` | add |
| | `{"kind": "outage", "for_s": 10}` | window from now for 10 s |
| | `{"kind": "latency", "start_s": 0, "end_s": 5, "latency_ms": 800}` | slower for 5 s |
| | `{"kind": "errors", ..., "error_rate": 1, "status": 503}` | errors for a while |
| | `{"kind": "bad_payload", ..., "corruption": "hash"}` | corrupt FFE_FLAGS |
| `DELETE /admin/faults` | | remove every fault |
| `POST /admin/configs/<PRODUCT>` | `{"bump": true}` | new version of the config |
| | `{"payload": {...}}` (any JSON) | new payload, new version |
| | `{"raw_base64": "..."}` | new payload as raw bytes |

With an admin token (setting `admin_token`, which `harness run` sets per run), every route needs
`Authorization: Bearer <token>` and answers 401 without it; unset, the admin API is open.

`config_id` may be added to a config change (default: the product's first config, or a new
`rc-fastlane-<product>` config). A change to a product not yet in the catalogue adds it (a
"new product appears" scenario). Bad input answers 400 (422 for a body of the wrong shape,
non-finite or out-of-range numbers included) with the reason, never a 5xx; the service keeps
serving. Every config change moves the catalogue's snapshot version, so the next
`/api/v0.1/configurations` call from an agent that lists the product gets new director targets.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import secrets
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from fake_backend.errors import BackendError, CatalogueError, FaultSpecError
from fake_backend.faults import WindowKind, make_window
from fake_backend.state import BackendState

log = logging.getLogger("fake_backend.admin")


MAX_LATENCY_MS = 3_600_000
"""An hour: any longer latency would hold every API call past any run (and a huge one
overflows the event loop's timer)."""
MAX_WINDOW_S = 7 * 24 * 3600.0
"""Window times beyond a week from now are refused for the same reason."""


class _Body(BaseModel):
    # NaN and Infinity (which Python's JSON parser accepts) are refused with a 422.
    model_config = ConfigDict(allow_inf_nan=False)


class LatencyBody(_Body):
    """Body of `POST /admin/faults/latency`."""

    latency_ms: int = Field(ge=0, le=MAX_LATENCY_MS)
    latency_spread_ms: int = Field(default=0, ge=0, le=MAX_LATENCY_MS)


class ErrorsBody(_Body):
    """Body of `POST /admin/faults/errors`."""

    error_rate: float = Field(ge=0.0, le=1.0)
    error_status: Literal[500, 503] = 500


class WindowBody(_Body):
    """Body of `POST /admin/faults/windows`: `start_s`/`end_s` from now (`start_s` may be
    negative: a window that began already), or `for_s` from now; plus the kind's own fields
    (`fake_backend.faults.Window`)."""

    kind: Literal["rate_limit", "outage", "latency", "errors", "bad_payload"]
    start_s: float | None = Field(default=None, ge=-MAX_WINDOW_S, le=MAX_WINDOW_S)
    end_s: float | None = Field(default=None, ge=-MAX_WINDOW_S, le=MAX_WINDOW_S)
    for_s: float | None = Field(default=None, gt=0, le=MAX_WINDOW_S)
    latency_ms: int = Field(default=0, ge=0, le=MAX_LATENCY_MS)
    latency_spread_ms: int = Field(default=0, ge=0, le=MAX_LATENCY_MS)
    error_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    status: int | None = Field(default=None, ge=400, le=599)
    retry_after_s: int | None = Field(default=None, ge=0, le=int(MAX_WINDOW_S))
    corruption: Literal["hash", "signature", "ufc"] | None = None

    def fields(self) -> dict[str, Any]:
        """The window's own fields, as `make_window` takes them."""
        return self.model_dump(exclude={"kind", "start_s", "end_s", "for_s"})


class ConfigBody(_Body):
    """Body of `POST /admin/configs/<PRODUCT>`: exactly one of bump, payload, raw_base64."""

    bump: bool = False
    payload: Any = None
    raw_base64: str | None = None
    config_id: str | None = None


def _error(exc: BackendError) -> JSONResponse:
    return JSONResponse({"error": str(exc)}, status_code=400)


def token_check(token: str | None) -> Any:
    """A FastAPI dependency that refuses (401) a request without `Bearer <token>`; with no
    token, it lets every request through."""

    async def check(request: Request) -> None:
        if token is None:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(
            given.strip().encode(), token.encode()
        ):
            raise HTTPException(
                status_code=401,
                detail="the admin API needs 'Authorization: Bearer <admin token>' (the "
                "backend's RC_BACKEND_ADMIN_TOKEN)",
                headers={"WWW-Authenticate": "Bearer"},
            )

    return check


def build_admin_router(state: BackendState, token: str | None = None) -> APIRouter:
    """The `/admin` routes bound to `state`, behind `token` when one is given."""
    router = APIRouter(prefix="/admin", dependencies=[Depends(token_check(token))])

    @router.get("/state")
    async def get_state() -> dict[str, object]:
        return state.describe()

    @router.post("/faults/latency")
    async def set_latency(body: LatencyBody) -> JSONResponse:
        state.faults.set_latency(body.latency_ms, body.latency_spread_ms)
        log.info("latency set to %d ms + U(0, %d ms)", body.latency_ms, body.latency_spread_ms)
        return JSONResponse(state.describe_faults())

    @router.post("/faults/errors")
    async def set_errors(body: ErrorsBody) -> JSONResponse:
        state.faults.set_errors(body.error_rate, body.error_status)
        log.info("error rate set to %s (status %d)", body.error_rate, body.error_status)
        return JSONResponse(state.describe_faults())

    @router.post("/faults/windows")
    async def add_window(body: WindowBody) -> JSONResponse:
        now = state.clock.monotonic()
        try:
            if body.for_s is not None:
                if body.start_s is not None or body.end_s is not None:
                    raise FaultSpecError("give either for_s or start_s/end_s, not both")
                start, end = now, now + body.for_s
            else:
                if body.end_s is None:
                    raise FaultSpecError("a window needs end_s (with start_s) or for_s")
                start, end = now + (body.start_s or 0.0), now + body.end_s
            window = make_window(WindowKind(body.kind), start, end, **body.fields())
            state.faults.add_window(window)
            log.info(
                "%s window from now%+.3f s to now%+.3f s %s",
                body.kind,
                start - now,
                end - now,
                {k: v for k, v in body.fields().items() if v},
            )
        except FaultSpecError as exc:
            return _error(exc)
        return JSONResponse(state.describe_faults())

    @router.delete("/faults")
    async def clear_faults() -> JSONResponse:
        state.faults.clear()
        log.info("every fault cleared")
        return JSONResponse(state.describe_faults())

    @router.post("/configs/{product}")
    async def change_config(product: str, request: Request) -> JSONResponse:
        try:
            body = ConfigBody.model_validate(await _json(request))
            chosen = [body.bump, body.payload is not None, body.raw_base64 is not None]
            if sum(chosen) != 1:
                raise CatalogueError(
                    f"config change for {product}: give exactly one of "
                    "'bump': true, 'payload': <JSON> or 'raw_base64': <base64>"
                )
            if body.bump:
                entry = state.catalogue.bump(product, body.config_id)
            else:
                raw = _raw(product, body)
                entry = state.catalogue.put(product, raw, body.config_id)
        except BackendError as exc:
            return _error(exc)
        except ValueError as exc:  # pydantic's ValidationError is a ValueError
            return JSONResponse({"error": f"config change for {product}: {exc}"}, 400)
        log.info(
            "config %s now version %d (%d bytes, snapshot %d)",
            entry.path,
            entry.version,
            entry.meta.length,
            state.catalogue.snapshot_version,
        )
        return JSONResponse(
            {
                "path": str(entry.path),
                "version": entry.version,
                "length": entry.meta.length,
                "sha256": entry.meta.sha256,
                "snapshot_version": state.catalogue.snapshot_version,
            }
        )

    return router


async def _json(request: Request) -> Any:
    body = await request.body()
    try:
        return json.loads(body or b"{}", parse_constant=_not_json)
    except ValueError:  # UnicodeDecodeError included
        raise CatalogueError("admin body is not valid JSON") from None
    except RecursionError:
        raise CatalogueError("admin body is JSON nested too deeply") from None


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _raw(product: str, body: ConfigBody) -> bytes:
    if body.raw_base64 is not None:
        try:
            return base64.b64decode(body.raw_base64, validate=True)
        except binascii.Error:
            raise CatalogueError(f"config change for {product}: raw_base64 is not base64") from None
    return json.dumps(body.payload, separators=(",", ":")).encode()
