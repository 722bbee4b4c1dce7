"""The orchestrator: boots a fleet of tracers against an agent and a backend, collects what
each tracer measured, and reports it in the proposal's layout.

Layers, each importing only the ones below it (``lint-imports`` checks it; pyproject.toml)::

    cli/        the ``harness`` command: parse options, call the layers below, map errors
                to one line and an exit code (app, options, compare, docker, review, gate,
                progress, exit, simulate)
    review/     ``harness up``: backend, agent, Prometheus and Grafana for interactive review
                (stack), and the dashboards' PromQL run against a Prometheus (dashboards)
    simulate/   ``harness simulate``, beside run/: the same agent, tracer and backend models on a
                virtual-time event loop (loop) through in-memory links (links), thousands of
                agents against one backend (fleet, engine), the results folder (run), and its
                agreement with the local runtime (agreement)
    run/        executing runs: run_scenario (runner), releasing the fleet at one instant
                (release), scraping and accounting for every tracer (collect, promtext), the
                run's faults (faults), the run's self-checks (validity), Prometheus file-SD
                (promsd), where a fleet runs
                (placement), several scenarios side by side (compare), progress events
    report/     text (the proposal's layout), the proposal's figures (reference), the compare
                table (tables), the measurement-validity block (validity), self-contained HTML
                pages (html/)
    studies/    many runs read together: a comparison's table and compare.json
    gates/      thresholds on a summary (metrics, thresholds) and JUnit XML
    results/    one run's data: the typed Summary (summary), per-tracer rows (samples),
                percentiles (stats), flat counters (counters), the self-checks and their
                limits (validity), the results folder (folder)
    scenario/   the typed scenario (model) and the built-in scenario files (builtin/)
    runtime/    where components run: local processes, Docker containers, Locust workers
                (locust, locust_fleet), in memory (fake); the Docker images (images); the
                HTTP transport the harness reaches them with (http)
    errors      every exception of the harness, under HarnessError
"""
