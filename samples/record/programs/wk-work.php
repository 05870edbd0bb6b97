<?php
// samples/record/queued-behind-slow-php-fpm.sh: works ?ms= milliseconds (sleeps) before answering.
// Start and end go to the worker's stderr, which php-fpm (catch_workers_output) writes into its log
// with the worker's pid: which worker served which request, and when.
$ms = min((int)($_GET['ms'] ?? 100), 20000);
$id = $_GET['i'] ?? '-';
file_put_contents('php://stderr', sprintf("wk start %.6f pid %d id %s\n", microtime(true), getmypid(), $id));
usleep($ms * 1000);
file_put_contents('php://stderr', sprintf("wk end %.6f pid %d id %s\n", microtime(true), getmypid(), $id));
header('Content-Type: text/plain');
echo "worked $ms ms id $id pid ", getmypid(), "\n";
