// x30a-go-client: the Go net/http client of response-abandoned-client-timeouts. Standard library only.
// One http.Client{Timeout: -timeout} (2 s in the recording) over the default-like Transport (keep-alive:
// a URL after a complete response reuses the connection), the URLs fetched one after the other, each
// body read to its end with io.Copy. The User-Agent is Go's default (Go-http-client/1.1). One JSON line per
// request (-log, appended): tag, url, local port and reuse (httptrace GotConn), status, declared length,
// bytes read, the error (e.g. the Client.Timeout one while reading the body), tStart (before Do), tEnd.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"time"
)

func now() float64 { return float64(time.Now().UnixNano()) / 1e9 }

func main() {
	tag := flag.String("tag", "go", "tag")
	logPath := flag.String("log", "", "JSON-lines log (appended)")
	timeout := flag.Duration("timeout", 2*time.Second, "http.Client.Timeout")
	flag.Parse()
	out, err := os.OpenFile(*logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		panic(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}, Timeout: *timeout}
	for _, u := range flag.Args() {
		m := map[string]interface{}{"tag": *tag, "client": "go", "url": u, "tStart": now()}
		trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
			m["localPort"] = info.Conn.LocalAddr().(*net.TCPAddr).Port
			m["reused"] = info.Reused
		}}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", u, nil)
		resp, err := client.Do(req)
		if err != nil {
			m["error"] = err.Error()
		} else {
			m["status"] = resp.StatusCode
			m["contentLength"] = resp.ContentLength
			m["chunked"] = len(resp.TransferEncoding) > 0 && resp.TransferEncoding[0] == "chunked"
			n, rerr := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			m["bytes"] = n
			if rerr != nil {
				m["error"] = rerr.Error()
			}
		}
		m["tEnd"] = now()
		b, _ := json.Marshal(m)
		out.Write(append(b, '\n'))
	}
}
