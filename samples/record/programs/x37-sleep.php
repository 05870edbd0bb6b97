<?php
// samples/record/fastcgi-php-fpm.sh: sleeps ?s= seconds before answering. Start and end go to the
// worker's stderr, which php-fpm (catch_workers_output) writes into its log with the worker's pid.
$s = (int)($_GET['s'] ?? 1);
$id = $_GET['i'] ?? '-';
$port = $_SERVER['REMOTE_PORT'] ?? '-';
file_put_contents('php://stderr', sprintf("x37 start %.6f pid %d uri %s remote_port %s sleep %d\n", microtime(true), getmypid(), $_SERVER['REQUEST_URI'] ?? '-', $port, $s));
sleep($s);
file_put_contents('php://stderr', sprintf("x37 end %.6f pid %d uri %s remote_port %s\n", microtime(true), getmypid(), $_SERVER['REQUEST_URI'] ?? '-', $port));
header('Content-Type: text/plain');
echo "slept $s id $id\n";
