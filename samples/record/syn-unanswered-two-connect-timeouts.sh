#!/usr/bin/env bash
# syn-unanswered-two-connect-timeouts: two client programs on one host connect, one after the other,
# to a port whose SYNs nftables drops: Java 17's HttpClient with connectTimeout(1000), 4 requests,
# and PHP's curl with CURLOPT_CONNECTTIMEOUT_MS 700, 2 requests. Each request is one SYN given up at
# the client's connect timeout (never retransmitted: Linux's first SYN retransmission is due at 1 s),
# the next request's SYN at once from a new port. Blind round 13, S15b: the PHP pair was folded into
# Java's series ("3 series of 1 or 3 attempts … tried 1 or 3 times (1.02 s × 3 ≈ 3.061 s)") and its
# 0.7 s lost. Ground truth: the programs' own reports (errors and times); programs/two-connect-meta.py
# checks them against the capture and writes the meta.
# In a namespace, on its loopback: nft drops tcp dport 8096 on input; nothing listens there.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
cc_require java php tcpdump tshark ip nft python3

SCENARIO=syn-unanswered-two-connect-timeouts
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
META="$CC_SAMPLES_DIR/$SCENARIO.meta.json"
WORK="$(mktemp -d)"
chmod 755 "$WORK"
P="$CC_RECORD_DIR/programs"
cp "$P/JConnectTimeout.java" "$WORK/"

cc_netns_up cc-two-connect
cc_in nft -f - <<'NFT'
table inet blackhole {
  chain input {
    type filter hook input priority 0;
    tcp dport 8096 drop
  }
}
NFT
cc_capture_start "$OUT" "tcp port 8096"
cc_in timeout 30 java "$WORK/JConnectTimeout.java" http://127.0.0.2:8096 1000 4 >>"$WORK/clients.log" 2>&1
cc_in timeout 10 php "$P/php-connect-timeout.php" http://127.0.0.2:8096 700 2 >>"$WORK/clients.log" 2>&1
# The capture goes on past the last attempt: its SYN would have been retransmitted at 1 s.
sleep 1.5
cc_capture_stop
python3 "$P/two-connect-meta.py" --capture "$OUT" --meta "$META" --clients-log "$WORK/clients.log" \
  --software "java $(java -version 2>&1 | head -1 | cut -d'"' -f2)" "php $(php -r 'echo PHP_VERSION;') (curl $(php -r 'echo curl_version()["version"];'))" "$(nft --version)"
rm -rf "$WORK"
