// scc-sse-client: reads one server-sent events stream with a Go http.Client, for
// response-abandoned-stream-go-timeout.sh. Usage: scc-sse-client URL TIMEOUT_SECONDS LABEL.
// TIMEOUT_SECONDS is http.Client.Timeout (0: none), which covers reading the body: a stream that
// lasts longer is cut with "context deadline exceeded (Client.Timeout or context cancellation
// while reading body)". After a stream that ends by itself the client waits 0.5 s and closes its
// idle keep-alive connection (CloseIdleConnections: a FIN on an idle connection). Logs, with Unix
// times: the request, the status, each event, and how the stream ended.
package main

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

func now() string { return fmt.Sprintf("%.6f", float64(time.Now().UnixNano())/1e9) }

func main() {
	url, label := os.Args[1], os.Args[3]
	seconds, err := strconv.ParseFloat(os.Args[2], 64)
	if err != nil {
		fmt.Printf("%s %s bad timeout %q\n", now(), label, os.Args[2])
		os.Exit(2)
	}
	client := &http.Client{Timeout: time.Duration(seconds * float64(time.Second))}
	start := time.Now()
	fmt.Printf("%s %s request GET %s Client.Timeout=%s\n", now(), label, url, client.Timeout)
	resp, err := client.Get(url)
	if err != nil {
		fmt.Printf("%s %s request error after %.3f s: %v\n", now(), label, time.Since(start).Seconds(), err)
		os.Exit(1)
	}
	fmt.Printf("%s %s status %s\n", now(), label, resp.Status)
	events := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "data: ") {
			events++
			fmt.Printf("%s %s event %q\n", now(), label, sc.Text())
		}
	}
	resp.Body.Close()
	if err := sc.Err(); err != nil {
		fmt.Printf("%s %s stream error after %.3f s and %d events: %v\n", now(), label, time.Since(start).Seconds(), events, err)
		os.Exit(3)
	}
	fmt.Printf("%s %s stream ended after %.3f s and %d events\n", now(), label, time.Since(start).Seconds(), events)
	time.Sleep(500 * time.Millisecond)
	client.CloseIdleConnections()
	fmt.Printf("%s %s closed idle connections\n", now(), label)
	time.Sleep(200 * time.Millisecond)
}
