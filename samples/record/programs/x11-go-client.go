// x11-go-client: Go's net/http client (a clone of http.DefaultTransport: IdleConnTimeout 90 s,
// MaxIdleConnsPerHost 2) for the round-11 recorders, logging what the client itself saw: for
// each request every connection the Transport handed it (httptrace GotConn: local address,
// Reused, WasIdle, IdleTime — two GotConn for one request are Go's transparent retry on a new
// connection), and the outcome (status, or the error text). A dialer wrapper also logs when a
// connection's Read first returned an error (io.EOF: the server's FIN reached the pooled
// connection's background read). One JSON line per event on stdout. Standard library only.
//
//	x11-go-client -url BASE -probes N -rounds METHOD:EPS,...   keep-alive race rounds: each probe
//	    sends a warm GET and measures when the server's idle-close FIN reaches the pooled connection,
//	    from the warm response's end; each round sends a warm GET, then METHOD EPS ms before that
//	    moment (negative: after it). METHOD POSTIK is a POST with an Idempotency-Key header.
//	x11-go-client -url BASE -timeout D -steps METHOD:PATH:GAPMS,...   requests in sequence.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

var outMu sync.Mutex

func emit(v map[string]interface{}) {
	v["t"] = float64(time.Now().UnixNano()) / 1e9
	v["lib"] = "go"
	b, _ := json.Marshal(v)
	outMu.Lock()
	defer outMu.Unlock()
	os.Stdout.Write(append(b, '\n'))
}

// eofConn remembers when its first Read error came (the peer's FIN or RST).
type eofConn struct {
	net.Conn
	once sync.Once
	eof  chan time.Time
}

func (c *eofConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil {
		c.once.Do(func() {
			emit(map[string]interface{}{"event": "connReadError", "port": port(c.LocalAddr()), "error": err.Error()})
			c.eof <- time.Now()
		})
	}
	return n, err
}

func port(a net.Addr) int {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.Port
	}
	return 0
}

var connsMu sync.Mutex
var conns = map[int]*eofConn{}

func main() {
	base := flag.String("url", "http://127.0.0.1:8080", "base URL")
	probes := flag.Int("probes", 2, "probe rounds")
	rounds := flag.String("rounds", "", "METHOD:EPS,...")
	steps := flag.String("steps", "", "METHOD:PATH:GAPMS,...")
	timeout := flag.Duration("timeout", 0, "http.Client Timeout")
	tag := flag.String("tag", "g", "URI tag")
	maxSeconds := flag.Float64("max-seconds", 40, "time budget")
	flag.Parse()

	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialer.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		ec := &eofConn{Conn: c, eof: make(chan time.Time, 1)}
		connsMu.Lock()
		conns[port(c.LocalAddr())] = ec
		connsMu.Unlock()
		emit(map[string]interface{}{"event": "connected", "port": port(c.LocalAddr())})
		return ec, nil
	}
	client := &http.Client{Transport: tr, Timeout: *timeout}
	emit(map[string]interface{}{"event": "versions", "go": strings.TrimPrefix(runtime.Version(), "go"),
		"idleConnTimeout": tr.IdleConnTimeout.Seconds(), "maxIdleConnsPerHost": tr.MaxIdleConnsPerHost, "clientTimeout": timeout.Seconds()})
	start := time.Now()
	over := func() bool { return time.Since(start).Seconds() > *maxSeconds }

	// one sends a request and logs what the client saw; returns the last connection's port.
	one := func(method, uri string) (int, bool) {
		var body io.Reader
		m := method
		if method == "POST" || method == "POSTIK" {
			body = strings.NewReader(fmt.Sprintf("{\"order\":%q,\"qty\":1}", uri))
			m = "POST"
		}
		req, _ := http.NewRequest(m, *base+uri, body)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if method == "POSTIK" {
			req.Header.Set("Idempotency-Key", uri)
		}
		var got []map[string]interface{}
		last := 0
		trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
			p := port(info.Conn.LocalAddr())
			last = p
			got = append(got, map[string]interface{}{"port": p, "reused": info.Reused, "wasIdle": info.WasIdle, "idleTime": info.IdleTime.Seconds()})
			emit(map[string]interface{}{"event": "gotConn", "method": m, "uri": uri, "port": p, "reused": info.Reused,
				"wasIdle": info.WasIdle, "idleTime": info.IdleTime.Seconds(), "attempt": len(got)})
		}}
		req = req.WithContext(httptrace.WithClientTrace(context.Background(), trace))
		emit(map[string]interface{}{"event": "send", "method": m, "uri": uri, "idempotencyKey": method == "POSTIK"})
		t0 := time.Now()
		resp, err := client.Do(req)
		rec := map[string]interface{}{"method": m, "uri": uri, "attempts": got, "sends": len(got)}
		ok := err == nil
		if err != nil {
			rec["event"] = "error"
			rec["error"] = fmt.Sprintf("%T", err)
			rec["text"] = err.Error()
		} else {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			rec["event"] = "response"
			rec["status"] = resp.StatusCode
			rec["port"] = last
		}
		rec["elapsed"] = time.Since(t0).Seconds()
		emit(rec)
		return last, ok
	}
	waitEOF := func(p int, d time.Duration) (time.Time, bool) {
		connsMu.Lock()
		c := conns[p]
		connsMu.Unlock()
		if c == nil {
			return time.Time{}, false
		}
		select {
		case t := <-c.eof:
			c.eof <- t
			return t, true
		case <-time.After(d):
			return time.Time{}, false
		}
	}

	if *steps != "" {
		for _, step := range strings.Split(*steps, ",") {
			if over() {
				break
			}
			parts := strings.SplitN(step, ":", 3)
			gap, _ := strconv.Atoi(parts[2])
			time.Sleep(time.Duration(gap) * time.Millisecond)
			one(parts[0], parts[1])
		}
		emit(map[string]interface{}{"event": "done"})
		return
	}

	var closes []time.Duration
	for i := 0; i < *probes && !over(); i++ {
		uri := fmt.Sprintf("/items/%s-probe-%d", *tag, i)
		p, ok := one("GET", uri)
		t0 := time.Now() // the response is in: the server's idle timer runs from about now
		if !ok {
			continue
		}
		if t, ok := waitEOF(p, 8*time.Second); ok {
			closes = append(closes, t.Sub(t0))
			emit(map[string]interface{}{"event": "probe", "port": p, "closeAfter": t.Sub(t0).Seconds()})
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(closes) == 0 {
		emit(map[string]interface{}{"event": "abort", "why": "no idle close seen in the probes"})
		os.Exit(2)
	}
	sort.Slice(closes, func(i, j int) bool { return closes[i] < closes[j] })
	closeAfter := closes[len(closes)/2]
	for n, spec := range strings.Split(*rounds, ",") {
		if spec == "" {
			continue
		}
		if over() {
			emit(map[string]interface{}{"event": "abort", "why": "time budget"})
			break
		}
		parts := strings.SplitN(spec, ":", 2)
		eps, _ := strconv.ParseFloat(parts[1], 64)
		warm := fmt.Sprintf("/items/%s-%d-warm", *tag, n)
		wp, _ := one("GET", warm)
		t0 := time.Now()
		time.Sleep(time.Until(t0.Add(closeAfter - time.Duration(eps*float64(time.Millisecond)))))
		uri := fmt.Sprintf("/items/%s-%d-%s-eps%s", *tag, n, strings.ToLower(parts[0]), parts[1])
		_, finSeen := waitEOF(wp, 0)
		emit(map[string]interface{}{"event": "reuseCandidate", "uri": uri, "port": wp, "serverFinSeen": finSeen})
		p, _ := one(parts[0], uri)
		waitEOF(p, 4*time.Second)
		time.Sleep(100 * time.Millisecond)
	}
	emit(map[string]interface{}{"event": "done"})
}
