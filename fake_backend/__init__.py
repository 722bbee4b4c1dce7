"""Fake Datadog Remote Configuration backend for the rc-fastlane harness.

Run it with `python -m fake_backend --host H --port P` (`--help` lists every setting). Modules,
in the order a request meets them:

- `settings`: the frozen `Settings` (`RC_BACKEND_*`, `DD_API_KEY`);
- `app`: `create_app(settings, clock)`, the thin HTTP layer (auth, faults, metrics);
- `faults`: latency, random errors, 429 and outage windows (pure, seeded RNG);
- `configurations`: a `LatestConfigsRequest` → a `LatestConfigsResponse` (pure);
- `director`: which targets an agent sees and the targets version (pure);
- `catalogue` and `payloads`: the configs per product and their default payloads;
- `admin`: the `/admin` API to change faults and configs mid-run;
- `metrics`: `backend_rc_*` on a per-app registry; `state`: what one app owns.
"""
