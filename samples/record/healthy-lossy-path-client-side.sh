#!/usr/bin/env bash
# healthy-lossy-path-client-side: the run of healthy-lossy-path-server-side captured next to the clients
# (tun x5c in the clients' namespace). Both captures come from one run, so this recorder runs that one
# (samples/record/healthy-lossy-path-server-side.sh), which writes both samples and both metas.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec bash "$HERE/healthy-lossy-path-server-side.sh"
