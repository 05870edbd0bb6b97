// x34-go-client: the Go net/http HTTP/2 client of healthy-h2-server-idle-closes. Standard library only.
// Runs -conns sequences against each -url at once (one goroutine each, each with its own http.Transport:
// ForceAttemptHTTP2, TLSClientConfig{InsecureSkipVerify, KeyLogWriter: the -keylog file}, so a fresh
// TCP+TLS connection per sequence): -first requests one after the other on one HTTP/2 connection, then
// -idle of doing nothing (the server's idle close comes meanwhile), then one more request, which the
// transport must send on a NEW connection (the old one got the server's GOAWAY), then
// CloseIdleConnections() (the client closes that second connection). One JSON line per request (-log,
// appended): tag, url, local port of the connection used (httptrace GotConn), reused, wasIdle, idleTime,
// protocol, status, body bytes, error, times.
package main

import (
	"crypto/tls"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

func now() float64 { return float64(time.Now().UnixNano()) / 1e9 }

var (
	logMu   sync.Mutex
	logFile *os.File
)

func out(m map[string]interface{}) {
	b, _ := json.Marshal(m)
	logMu.Lock()
	defer logMu.Unlock()
	logFile.Write(append(b, '\n'))
}

func main() {
	tag := flag.String("tag", "go", "tag")
	logPath := flag.String("log", "", "JSON-lines log (appended)")
	keylog := flag.String("keylog", "", "TLS key log (NSS format, appended)")
	urls := flag.String("url", "", "comma-separated base URLs (one set of sequences per URL)")
	conns := flag.Int("conns", 3, "sequences per URL")
	first := flag.Int("first", 2, "requests on the first connection")
	idle := flag.Duration("idle", 3500*time.Millisecond, "idle time before the last request")
	flag.Parse()
	var err error
	logFile, err = os.OpenFile(*logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		panic(err)
	}
	kl, err := os.OpenFile(*keylog, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		panic(err)
	}
	var klMu sync.Mutex
	klw := writerFunc(func(p []byte) (int, error) { klMu.Lock(); defer klMu.Unlock(); return kl.Write(p) })

	var wg sync.WaitGroup
	for ui, base := range strings.Split(*urls, ",") {
		for i := 1; i <= *conns; i++ {
			wg.Add(1)
			go func(base string, seq int, delay time.Duration) {
				defer wg.Done()
				time.Sleep(delay)
				tr := &http.Transport{
					ForceAttemptHTTP2: true,
					TLSClientConfig:   &tls.Config{InsecureSkipVerify: true, KeyLogWriter: klw},
					IdleConnTimeout:   90 * time.Second,
				}
				client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
				port := base[strings.LastIndex(base, ":")+1:]
				n := 0
				get := func(phase string) {
					n++
					id := *tag + "-" + port + "-" + strconv.Itoa(seq) + "-" + strconv.Itoa(n)
					url := base + "/ok?c=" + *tag + "&id=" + id
					m := map[string]interface{}{"kind": "request", "tag": *tag, "client": "go", "url": url, "id": id, "seq": seq,
						"phase": phase, "tStart": now()}
					trace := &httptrace.ClientTrace{GotConn: func(ci httptrace.GotConnInfo) {
						m["localPort"] = ci.Conn.LocalAddr().(interface{ String() string }).String()
						m["reused"] = ci.Reused
						m["wasIdle"] = ci.WasIdle
						m["idleTime"] = ci.IdleTime.Seconds()
						m["tGotConn"] = now()
					}}
					req, _ := http.NewRequest("GET", url, nil)
					req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
					resp, err := client.Do(req)
					if err != nil {
						m["error"] = err.Error()
					} else {
						b, rerr := io.ReadAll(resp.Body)
						resp.Body.Close()
						m["status"] = resp.StatusCode
						m["proto"] = resp.Proto
						m["bytes"] = len(b)
						if rerr != nil {
							m["error"] = rerr.Error()
						}
						if resp.TLS != nil {
							m["tlsVersion"] = resp.TLS.Version
							m["alpn"] = resp.TLS.NegotiatedProtocol
						}
					}
					m["tEnd"] = now()
					out(m)
				}
				for k := 0; k < *first; k++ {
					get("first")
				}
				out(map[string]interface{}{"kind": "idle", "tag": *tag, "seq": seq, "base": base, "ms": idle.Milliseconds(), "t": now()})
				time.Sleep(*idle)
				get("afterIdle")
				tr.CloseIdleConnections()
				out(map[string]interface{}{"kind": "closeIdle", "tag": *tag, "seq": seq, "base": base, "t": now()})
			}(base, i, time.Duration(ui*3+i-1)*150*time.Millisecond)
		}
	}
	wg.Wait()
	time.Sleep(300 * time.Millisecond)
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
