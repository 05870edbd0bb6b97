// x29g-go-client: Go net/http client for response-truncated-server-time-limits. Standard library only.
// Fetches its URLs one after the other through one http.Transport (keep-alive: a URL after a complete
// response reuses the connection), reads each body to the end (with -slow B:MS, B bytes every MS ms)
// and logs one JSON line per request: tag, url, local port (httptrace GotConn), reused, status,
// declared Content-Length, bytes read, the error of the body read (e.g. "unexpected EOF"), times.
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
	"strconv"
	"strings"
	"syscall"
	"time"
)

func now() float64 { return float64(time.Now().UnixNano()) / 1e9 }

func main() {
	tag := flag.String("tag", "go", "tag")
	logPath := flag.String("log", "", "JSON-lines log (appended)")
	slow := flag.String("slow", "", "read B bytes every MS ms: B:MS")
	rcvbuf := flag.Int("rcvbuf", 0, "SO_RCVBUF of the client's sockets (0: the kernel's default, autotuned)")
	flag.Parse()
	out, err := os.OpenFile(*logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		panic(err)
	}
	step, pause := 0, time.Duration(0)
	if *slow != "" {
		p := strings.SplitN(*slow, ":", 2)
		step, _ = strconv.Atoi(p[0])
		ms, _ := strconv.Atoi(p[1])
		pause = time.Duration(ms) * time.Millisecond
	}
	// SO_RCVBUF is set before connect(), so that the window scale offered in the SYN fits it.
	dialer := &net.Dialer{Timeout: 5 * time.Second, Control: func(network, address string, c syscall.RawConn) error {
		if *rcvbuf > 0 {
			c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, *rcvbuf) })
		}
		return nil
	}}
	tr := &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true, DialContext: dialer.DialContext}
	client := &http.Client{Transport: tr, Timeout: 20 * time.Second}
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
			n := int64(0)
			var rerr error
			if step > 0 {
				buf := make([]byte, step)
				for {
					k, e := resp.Body.Read(buf)
					n += int64(k)
					if e == io.EOF {
						break
					}
					if e != nil {
						rerr = e
						break
					}
					time.Sleep(pause)
				}
			} else {
				n, rerr = io.Copy(io.Discard, resp.Body)
			}
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
