#!/usr/bin/env bash
# healthy-lossy-path-heavy: healthy-lossy-path-server-side's traffic (same servers, clients, plans and
# checks: programs/x28l-lossy-run.sh) over a worse path, captured next to the server only. Each of the
# two wires (programs/x5-wire.py with its bursts of loss) is 10 ms ± 4 ms one way with 1 %
# reordering, drops 2 % of packets at random and, in bursts of 20-80 ms that start about once every
# 2 s per direction, 70 % of them: about 3-4 % per wire, 6-8 % each way end to end, SYNs not spared.
# programs/x28l-meta.py checks every request against the clients' and servers' logs (all answered,
# none failed or sent twice) before writing the meta (at most 3 attempts). Silent: nothing failed.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
X28L_NETNS=ccx28lh X28L_DELAY_MS=10 X28L_JITTER_MS=4 X28L_LOSS=2 X28L_REORDER=1 X28L_SEED=82 \
  X28L_WIRE_ARGS="--burst-rate 0.5 --burst-ms-min 20 --burst-ms-max 80 --burst-loss 70" \
  exec bash "$HERE/programs/x28l-lossy-run.sh" healthy-lossy-path-heavy
