<?php
// samples/record/fastcgi-php-fpm.sh: answered at once (healthy phase).
header('Content-Type: text/plain');
echo "fast ", $_GET['i'] ?? '-', " pid ", getmypid(), "\n";
