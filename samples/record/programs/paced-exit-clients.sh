#!/usr/bin/env bash
# The clients of response-truncated-paced-exit, one request each: curl, Node 20's fetch, Java 17's
# HttpClient (GET URL; prints "NAME rc|error" lines to stdout).
set -u
name="$1" url="$2" work="$3"
case "$name" in
  curl)
    rc=0; timeout 10 curl -s -o /dev/null "$url" || rc=$?; echo "curl $rc" ;;
  fetch)
    timeout 10 node -e '
      fetch(process.argv[1]).then((r) => r.text()).then((b) => console.log("fetch ok " + b.length),
        (e) => console.log("fetch " + e.name + " " + e.message + " / " + (e.cause ? e.cause.code + " " + e.cause.message : "")));' "$url" ;;
  java)
    timeout 20 java "$work/JGet.java" "$url" ;;
esac
