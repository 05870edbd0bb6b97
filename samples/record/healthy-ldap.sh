#!/usr/bin/env bash
# Healthy reuse of kept LDAP connections: OpenLDAP slapd 2.5 (Debian slapd; a private slapd.conf and
# back_mdb database, a tiny directory loaded with slapadd, run as the openldap user in the foreground
# with -d stats) at its default idle setting (no idletimeout line: 0, idle connections are never
# closed), behind a 5 ms one-way-latency link; python3-ldap3 2.9 (Debian python3-ldap3) in 4
# threads, each keeping one bound Connection (SYNC strategy, get_info NONE, simple bind as the
# rootdn), a short search (59 bytes) and a modify (125 bytes) alternating, reused after plain pauses
# of 0.05-4.5 s (the same client as keepalive-race-ldap.sh, with no aiming and no metronome); at the
# end each lane calls unbind() (UnbindRequest, then the client's FIN; slapd closes its side). Every
# operation is logged with its local port and outcome; slapd's log gives every connection's client
# port, every operation it executed and every close with its reason. Nothing fails: conncheck must
# stay silent. Server-side capture. Bounded: one attempt takes ~25 s (at most 3 attempts). Writes
# samples/healthy-ldap.pcap and .meta.json (programs/x21l-meta.py --healthy).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x21l-lib.sh"
x21l_require

SCENARIO=healthy-ldap
X21L_PORT=389
X21L_DELAY_MS=5
X21L_IDLE=0
X21L_PHASE=0.1
X21L_METRONOME=0
# 24 pauses (s), shuffled, dealt round-robin to 4 lanes of 6 reuses: short, around 2-3 s (where
# keepalive-race-ldap's slapd closes) and longer.
GAPS=$(python3 -c "
import random
v = [0.05, 0.2, 0.5, 0.8, 1.0, 1.5, 1.9, 2.0, 2.1, 2.5, 2.9, 3.0, 3.1, 3.5, 4.0, 4.5, 0.1, 0.3, 1.2, 2.2, 2.95, 3.05, 1.0, 0.6]
random.Random(21).shuffle(v)
print(','.join(map(str, v)))")
X21L_CLIENT_ARGS=(--lanes 4 --rounds 6 --stagger 0.13 "--gaps=$GAPS" --linger 0.5 --unbind-at-end --max-seconds 80)
X21L_META_ARGS=(--healthy
  --configured-notes "serverIdleSetting: none. slapd.conf has no idletimeout line (olcIdleTimeout absent from cn=config): slapd's default 0, idle client connections are never closed by slapd (slapd.conf(5): 'A setting of 0 disables this feature. The default is 0.'). ldap3 keeps each lane's connection with no idle limit of its own; the lanes reuse them after pauses of up to 4.5 s and unbind at the end.")
X21L_META_ARGS+=(--description "Healthy reuse of kept LDAP connections. OpenLDAP slapd 2.5 (Debian slapd) at its default idle setting (no idletimeout: idle connections are never closed); python3-ldap3 2.9 (Debian python3-ldap3) runs 4 threads, each keeping one bound Connection (SYNC strategy), reusing it for a base search (59 bytes) and a modify (125 bytes) after pauses of 0.05-4.5 s, then unbinding (UnbindRequest, client FIN first). 5 ms one-way latency; captured on the server side. Every operation answered, no server close, no reset: nothing to report.")
x21l_record "$SCENARIO"
