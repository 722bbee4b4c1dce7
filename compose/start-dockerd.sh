#!/usr/bin/env bash
# Start a Docker engine on this machine if none answers. Idempotent: an engine that already
# answers (this script's, Docker Desktop's, or one started another way) is left alone. Used by
# people (`compose/start-dockerd.sh`) and by `.ci/run` alike. It does one thing: the engine.
# The next steps install or name what they need themselves: `harness image bootstrap-base`
# needs root and debootstrap (`apt-get install -y debootstrap`) and says so; `harness image
# build` needs only the engine.
#
# - Installs Debian's docker.io (Engine, containerd, runc, the docker client) when dockerd is
#   missing (needs root and the machine's Debian mirror; no container registry is used).
# - Starts `dockerd ${DOCKERD_FLAGS}` in the background, logging to
#   ${DOCKERD_LOG:-/var/log/dockerd.log}. Default flags: --userland-proxy=false, so that a port
#   published on 127.0.0.1 is an iptables rule instead of one docker-proxy process per port (a
#   100-container run would otherwise start 100 extra processes on the host).
# - Waits up to ${DOCKERD_WAIT_S:-60} s for `docker info` to answer.
set -euo pipefail

log="${DOCKERD_LOG:-/var/log/dockerd.log}"
wait_s="${DOCKERD_WAIT_S:-60}"
flags="${DOCKERD_FLAGS---userland-proxy=false}"

answers() { docker info >/dev/null 2>&1; }

if answers; then
    echo "docker engine already answers: nothing to do"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "no docker engine answers and this is not root: start one yourself (e.g. Docker Desktop," \
        "or 'sudo $0')" >&2
    exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
    echo "installing docker.io from the Debian mirror"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q docker.io
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
    echo "starting dockerd $flags (log: $log)"
    # shellcheck disable=SC2086  # flags are words
    nohup dockerd $flags >"$log" 2>&1 &
fi

for _ in $(seq "$wait_s"); do
    if answers; then
        echo "docker engine answers: $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')"
        exit 0
    fi
    sleep 1
done
echo "dockerd did not answer within ${wait_s} s; last lines of $log:" >&2
tail -n 30 "$log" >&2 || true
exit 1
