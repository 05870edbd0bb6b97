// healthy-lossy-path-*'s Go program, built by the recorder (GO111MODULE=off go build).
//
// Server mode: a net/http Server on -listen with IdleTimeout -idle (30 s): GET /big/<N>.bin... is
// answered with N bytes, a POST's body is read whole and answered 201 with its length, anything
// else 200 with a small JSON body. One JSON line per request in -log (t, client port, method, url,
// body bytes, status, bytes sent).
//
// Client mode: one lane per -targets URL, each with its own http.Client (own Transport,
// MaxIdleConnsPerHost 1, Timeout 30 s for a whole exchange: loss must never make it give up),
// sending -requests requests one after the other with a seeded think time of 0.05-2 s after each
// response: GET /s/TAG or POST /o/TAG (small JSON body), unless -plan says otherwise for that lane
// and index (big:N, up = POST /up/TAG with 100 KB, close = Connection: close). Go's Transport may
// send a request again by itself when a reused connection fails before any response byte;
// httptrace's GotConn is logged for every connection a request is given (conns > 1 = retried).
// At the end each lane calls CloseIdleConnections (the client's FIN).
// Ground truth, one JSON line per request in -log: client, lane, i, method, uri, port, reused,
// start/end, status, bytes, error, conns.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

var logMu sync.Mutex
var logFile *os.File

func logJSON(v map[string]interface{}) {
	b, _ := json.Marshal(v)
	logMu.Lock()
	logFile.Write(append(b, '\n'))
	logMu.Unlock()
}

func now() float64 { return float64(time.Now().UnixNano()) / 1e9 }

var bigRe = regexp.MustCompile(`^/big/(\d+)\.bin`)

func serve(listen string, idle time.Duration) {
	big := bytes.Repeat([]byte("abcdefghijklmnopqrstuvwxyz0123456789\n"), 60000)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		status := 200
		var body []byte
		if r.Method == "POST" {
			status = 201
			body = []byte(fmt.Sprintf("{\"created\":true,\"got\":%d}\n", n))
		} else if m := bigRe.FindStringSubmatch(r.URL.Path); m != nil {
			k, _ := strconv.Atoi(m[1])
			if k > len(big) {
				k = len(big)
			}
			body = big[:k]
		} else {
			body = []byte(fmt.Sprintf("{\"ok\":true,\"url\":%q}\n", r.URL.RequestURI()))
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(body)
		_, port, _ := net.SplitHostPort(r.RemoteAddr)
		logJSON(map[string]interface{}{"t": now(), "port": port, "method": r.Method, "url": r.URL.RequestURI(),
			"bodyBytes": n, "status": status, "sent": len(body), "close": r.Close})
	})
	srv := &http.Server{Addr: listen, Handler: h, IdleTimeout: idle}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func think(r *rand.Rand) time.Duration {
	x := r.Float64()
	s := 0.0
	switch {
	case x < 0.7:
		s = 0.05 + r.Float64()*0.45
	case x < 0.95:
		s = 0.5 + r.Float64()*1.0
	default:
		s = 1.5 + r.Float64()*0.5
	}
	return time.Duration(s * float64(time.Second))
}

func lane(l int, base string, requests int, seed int64, tag string, plan map[string][]string, wg *sync.WaitGroup) {
	defer wg.Done()
	r := rand.New(rand.NewSource(seed*1000 + int64(l) + 1))
	tr := &http.Transport{MaxIdleConnsPerHost: 1, MaxConnsPerHost: 1, IdleConnTimeout: 90 * time.Second}
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	upload := bytes.Repeat([]byte("upload-data-0123456789\n"), 5000)[:100*1024]
	time.Sleep(time.Duration(l*61) * time.Millisecond)
	for i := 0; i < requests; i++ {
		t := fmt.Sprintf("%s%d-%d", tag, l, i)
		p := plan[fmt.Sprintf("%d:%d", l, i)]
		x := r.Float64()
		method, uri := "GET", "/s/"+t
		var body []byte
		closeReq := false
		switch {
		case len(p) > 0 && p[0] == "big":
			uri = "/big/" + p[1] + ".bin?r=" + t
		case len(p) > 0 && p[0] == "up":
			method, uri, body = "POST", "/up/"+t, upload
		case len(p) > 0 && p[0] == "close":
			closeReq = true
		case x < 0.35:
			method, uri = "POST", "/o/"+t
			body = []byte(fmt.Sprintf("{\"lane\":%d,\"i\":%d,\"item\":\"%s\"}", l, i, strings.Repeat("x", 40)))
		}
		var port interface{}
		var reused interface{}
		conns := 0
		trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
			conns++
			reused = info.Reused
			if a, ok := info.Conn.LocalAddr().(*net.TCPAddr); ok {
				port = a.Port
			}
		}}
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, _ := http.NewRequest(method, base+uri, rd)
		req.Close = closeReq
		if body != nil {
			req.Header.Set("Content-Type", "application/octet-stream")
		}
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
		start := now()
		ev := map[string]interface{}{"client": "go", "lib": "go " + runtime.Version() + " net/http Client", "lane": l, "i": i,
			"method": method, "uri": uri, "target": base}
		resp, err := c.Do(req)
		if err == nil {
			n, rerr := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			ev["status"], ev["bytes"] = resp.StatusCode, n
			if rerr != nil {
				ev["status"], ev["error"] = nil, rerr.Error()
			}
		} else {
			ev["status"], ev["error"] = nil, err.Error()
		}
		ev["port"], ev["reused"], ev["conns"], ev["start"], ev["end"] = port, reused, conns, start, now()
		logJSON(ev)
		if i < requests-1 {
			time.Sleep(think(r))
		}
	}
	tr.CloseIdleConnections()
}

func main() {
	mode := flag.String("mode", "server", "server or client")
	listen := flag.String("listen", "127.0.0.1:8082", "")
	idle := flag.Duration("idle", 30*time.Second, "")
	logPath := flag.String("log", "/dev/stderr", "")
	targets := flag.String("targets", "", "")
	requests := flag.Int("requests", 25, "")
	seed := flag.Int64("seed", 1, "")
	tag := flag.String("tag", "g", "")
	planArg := flag.String("plan", "", "")
	flag.Parse()
	var err error
	logFile, err = os.OpenFile(*logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		panic(err)
	}
	if *mode == "server" {
		serve(*listen, *idle)
		return
	}
	plan := map[string][]string{}
	for _, p := range strings.Split(*planArg, ",") {
		if f := strings.Split(p, ":"); len(f) >= 3 {
			plan[f[0]+":"+f[1]] = f[2:]
		}
	}
	var wg sync.WaitGroup
	for l, base := range strings.Split(*targets, ",") {
		wg.Add(1)
		go lane(l, base, *requests, *seed, *tag, plan, &wg)
	}
	wg.Wait()
}
