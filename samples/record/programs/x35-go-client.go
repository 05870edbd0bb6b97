// x35-go-client: the Go net/http client of unanswered-request-tls-late-answers. Standard library only.
// -n requests to -url, one after the other, each with its own http.Transport (so a fresh TCP+TLS connection
// per request) with HTTP/2 off (TLSNextProto set to an empty map, ForceAttemptHTTP2 false), TLSClientConfig
// {InsecureSkipVerify, KeyLogWriter: the -keylog file}, DisableKeepAlives false, and an http.Client{Timeout:
// -timeout}: the timer covers the whole exchange; when it fires the transport closes the connection
// (tls.Conn.Close: close_notify, then the socket's close). After each request CloseIdleConnections().
// Each URL gets &id=PREFIX<n>. One JSON line per request (-log, appended): tag, url, id, local port
// (httptrace GotConn), status, bytes, error, TLS version and ALPN (httptrace TLSHandshakeDone: what the
// handshake negotiated; the offered list is logged as alpnOffered from the transport's config), tStart,
// tGotConn, tWroteRequest, tEnd.
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
	"time"
)

func now() float64 { return float64(time.Now().UnixNano()) / 1e9 }

func main() {
	tag := flag.String("tag", "go", "tag")
	logPath := flag.String("log", "", "JSON-lines log (appended)")
	keylog := flag.String("keylog", "", "TLS key log (NSS format, appended)")
	url := flag.String("url", "", "URL (an id=PREFIXn is appended)")
	prefix := flag.String("id", "c", "id prefix")
	n := flag.Int("n", 4, "requests, each on a fresh connection")
	timeout := flag.Duration("timeout", 2*time.Second, "http.Client Timeout")
	gap := flag.Duration("gap", 200*time.Millisecond, "pause between requests")
	flag.Parse()
	logFile, err := os.OpenFile(*logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		panic(err)
	}
	kl, err := os.OpenFile(*keylog, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		panic(err)
	}
	for i := 1; i <= *n; i++ {
		tr := &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true, KeyLogWriter: kl},
			TLSNextProto:    map[string]func(string, *tls.Conn) http.RoundTripper{},
		}
		client := &http.Client{Transport: tr, Timeout: *timeout}
		id := *prefix + strconv.Itoa(i)
		u := *url + "&id=" + id
		m := map[string]interface{}{"kind": "request", "tag": *tag, "client": "go", "url": u, "id": id,
			"timeout": timeout.Seconds(), "tStart": now()}
		trace := &httptrace.ClientTrace{
			GotConn: func(ci httptrace.GotConnInfo) {
				m["localPort"] = ci.Conn.LocalAddr().String()
				m["reused"] = ci.Reused
				m["tGotConn"] = now()
			},
			TLSHandshakeDone: func(cs tls.ConnectionState, err error) {
				m["tlsVersion"] = cs.Version
				m["alpn"] = cs.NegotiatedProtocol
				m["alpnOffered"] = tr.TLSClientConfig.NextProtos
				m["tHandshakeDone"] = now()
			},
			WroteRequest: func(httptrace.WroteRequestInfo) { m["tWroteRequest"] = now() },
		}
		req, _ := http.NewRequest("GET", u, nil)
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
		}
		m["tEnd"] = now()
		tr.CloseIdleConnections()
		b, _ := json.Marshal(m)
		logFile.Write(append(b, '\n'))
		time.Sleep(*gap)
	}
}
