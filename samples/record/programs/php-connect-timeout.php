<?php
// N GETs with PHP's curl, CURLOPT_CONNECTTIMEOUT_MS = MS: one line per request, "php I ERRNO SECONDS" (php-connect-timeout.php URL MS N).
[$_, $url, $msec, $n] = $argv;
for ($i = 0; $i < (int)$n; $i++) {
  $ch = curl_init("$url/php$i");
  curl_setopt_array($ch, [CURLOPT_RETURNTRANSFER => true, CURLOPT_CONNECTTIMEOUT_MS => (int)$msec, CURLOPT_TIMEOUT_MS => 5000]);
  $t0 = microtime(true);
  curl_exec($ch);
  printf("php %d %d %.3f\n", $i, curl_errno($ch), microtime(true) - $t0);
}
