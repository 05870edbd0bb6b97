<?php
// One lane of PHP's curl extension (Debian php-cli php-curl: PHP 8.2, libcurl 7.88) for the x19w recorders:
// ONE curl handle for the whole lane, so libcurl keeps the connection in the handle's connection cache
// and reuses it (CURLOPT_MAXAGE_CONN left at its default, 118 s).
//
//   php x19w-php-curl-client.php --base URL --log FILE --lane N [--gaps G1,G2,...] [--rounds R]
//       [--lanes L] [--stagger S] [--max-seconds S] [--script GET:0,POST:0.3,...]
//
// sweep (no --script): a "warm" GET, then each round sleeps GAP (measured from the end of the previous
// transfer; gaps dealt round-robin over --lanes lanes: gap index round*lanes+lane) and sends the round's
// request on the kept connection: GET /items/... and POST /orders?... alternate (lanes start on
// different ones). After a failed request the lane sends a new warm GET before the next pause.
// script: each step waits PAUSE s after the previous response and sends METHOD.
//
// Every request is one JSON line in FILE: t / sentAt (epoch s), lib, lane, method, uri, kind, gapAsked,
// idleMeasured (s since the previous transfer ended), pooledPort (local port of the connection kept from
// the previous request, null if none), port (CURLINFO_LOCAL_PORT: the connection used last), connects
// (CURLINFO_NUM_CONNECTS: new connections made for this request), status or errno/error (curl_errno,
// curl_error), curl (libcurl's own CURLOPT_VERBOSE info lines, '*'), reusedPooled ("Re-using existing
// connection"), deadBeforeReuse (libcurl's pre-reuse check saw the connection closed: "seems to be dead"),
// retried (libcurl's automatic retry on a fresh connection: "Connection died, retrying a fresh connect").
$o = ['gaps' => '', 'rounds' => 6, 'lanes' => 1, 'stagger' => 0.1, 'max-seconds' => 40, 'script' => '', 'lane' => 0, 'tag' => ''];
for ($i = 1; $i < $argc; $i += 2) { $o[substr($argv[$i], 2)] = $argv[$i + 1]; }
$base = $o['base'];
$lane = (int)$o['lane'];
$out = fopen($o['log'], 'a');
$verbose = fopen('php://temp', 'w+');

function logj($out, $ev) { flock($out, LOCK_EX); fwrite($out, json_encode($ev, JSON_UNESCAPED_SLASHES) . "\n"); fflush($out); flock($out, LOCK_UN); }

$ch = curl_init();
curl_setopt_array($ch, [
    CURLOPT_RETURNTRANSFER => true, CURLOPT_VERBOSE => true, CURLOPT_STDERR => $verbose,
    CURLOPT_CONNECTTIMEOUT => 3, CURLOPT_TIMEOUT => 5, CURLOPT_HTTP_VERSION => CURL_HTTP_VERSION_1_1,
]);
$pooled = null;
$lastEnd = null;

function one($ch, $out, $verbose, $base, $method, $path, $extra, &$pooled, &$lastEnd) {
    ftruncate($verbose, 0); rewind($verbose);
    curl_setopt($ch, CURLOPT_URL, $base . $path);
    if ($method === 'POST') {
        curl_setopt($ch, CURLOPT_POSTFIELDS, json_encode(['order' => $path, 'items' => [1, 2, 3]]));
        curl_setopt($ch, CURLOPT_HTTPHEADER, ['Content-Type: application/json']);
    } else {
        curl_setopt($ch, CURLOPT_HTTPGET, true);
        curl_setopt($ch, CURLOPT_HTTPHEADER, []);
    }
    $t0 = microtime(true);
    $m0 = hrtime(true);
    $ev = ['t' => round($t0, 6), 'sentAt' => round($t0, 6), 'lib' => 'php-curl'] + $extra + ['method' => $method, 'uri' => $path, 'pooledPort' => $pooled];
    if ($lastEnd !== null) $ev['idleMeasured'] = round(($m0 - $lastEnd) / 1e9, 6);
    $body = curl_exec($ch);
    $end = hrtime(true);
    $errno = curl_errno($ch);
    rewind($verbose);
    $vtext = stream_get_contents($verbose);
    $lines = array_values(array_filter(array_map('rtrim', explode("\n", $vtext)), fn($l) => str_starts_with($l, '* ')));
    $ev['port'] = curl_getinfo($ch, CURLINFO_LOCAL_PORT);
    $ev['connects'] = curl_getinfo($ch, CURLINFO_NUM_CONNECTS);
    $ev['reusedPooled'] = str_contains($vtext, 'Re-using existing connection');
    $ev['deadBeforeReuse'] = str_contains($vtext, 'seems to be dead');
    $ev['retried'] = str_contains($vtext, 'retrying a fresh connect');
    $ev['curl'] = array_map(fn($l) => substr($l, 2), $lines);
    $ev['elapsedMs'] = round(($end - $m0) / 1e6, 3);
    if ($errno) {
        $ev = ['event' => 'error', 'errno' => $errno, 'error' => curl_strerror($errno), 'message' => curl_error($ch)] + $ev;
        $pooled = null;
    } else {
        $ev = ['event' => 'response', 'status' => curl_getinfo($ch, CURLINFO_RESPONSE_CODE)] + $ev;
        $pooled = $ev['port'];
    }
    logj($out, $ev);
    $lastEnd = hrtime(true);
    return !$errno;
}

$deadline = hrtime(true) + (int)($o['max-seconds'] * 1e9);
logj($out, ['t' => round(microtime(true), 6), 'event' => 'start', 'lib' => 'php-curl', 'lane' => $lane,
            'versions' => ['php' => PHP_VERSION, 'libcurl' => curl_version()['version']]]);
if ($o['script'] !== '') {
    foreach (explode(',', $o['script']) as $k => $step) {
        [$method, $pause] = explode(':', $step);
        if ($lastEnd !== null) usleep((int)(max(0, (float)$pause - (hrtime(true) - $lastEnd) / 1e9) * 1e6));
        $path = $method === 'POST' ? "/orders?attempt={$o['tag']}{$k}" : "/items/{$o['tag']}{$k}";
        one($ch, $out, $verbose, $base, $method, $path, ['lane' => $lane, 'kind' => 'step', 'step' => $k], $pooled, $lastEnd);
    }
} else {
    $gaps = array_map('floatval', explode(',', $o['gaps']));
    $lanes = (int)$o['lanes'];
    usleep((int)($lane * (float)$o['stagger'] * 1e6));
    $warm = 0;
    $ok = one($ch, $out, $verbose, $base, 'GET', "/items/l{$lane}-warm{$warm}", ['lane' => $lane, 'kind' => 'warm'], $pooled, $lastEnd);
    for ($rnd = 0; $rnd < (int)$o['rounds']; $rnd++) {
        if (hrtime(true) > $deadline) break;
        $gap = $gaps[($rnd * $lanes + $lane) % count($gaps)];
        if (!$ok) {
            $warm++;
            $ok = one($ch, $out, $verbose, $base, 'GET', "/items/l{$lane}-warm{$warm}", ['lane' => $lane, 'kind' => 'warm'], $pooled, $lastEnd);
        }
        usleep((int)(max(0, $gap - (hrtime(true) - $lastEnd) / 1e9) * 1e6));
        $method = ($rnd + $lane) % 2 === 0 ? 'GET' : 'POST';
        $path = $method === 'POST' ? "/orders?attempt=l{$lane}-r{$rnd}" : "/items/l{$lane}-r{$rnd}";
        $ok = one($ch, $out, $verbose, $base, $method, $path, ['lane' => $lane, 'round' => $rnd, 'kind' => 'reuse', 'gapAsked' => $gap], $pooled, $lastEnd);
    }
}
curl_close($ch);
