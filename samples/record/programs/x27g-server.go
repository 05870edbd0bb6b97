// restart-go-shutdown's server: one instance of a Go net/http server that a deploy replaces. It listens with
// SO_REUSEPORT (so the next instance can bind the same address while this one still serves), IdleTimeout 60 s
// (no idle timer closes anything during the recording), and on SIGTERM calls http.Server.Shutdown(ctx) with a
// --grace context (1 s): Shutdown closes the listener, closes idle kept-alive connections at once (polling
// every 1 ms, doubling up to 500 ms), lets active ones finish (their response says Connection: close and the
// connection is closed after it) and returns ctx.Err() when the deadline cuts what remains; the process then
// exits (log.Fatal style), closing whatever connections are still open with requests in hand.
// Routes: GET /items/... 200 {"ok":true}; POST /orders 201 {"created":true}; GET /slow?ms=N answers after
// N ms (default 500). With --slow-after-term-ms M (> 0), a /slow request still waiting when SIGTERM comes
// answers only M ms after it started (a handler slower than the deadline: it is cut).
// Ground truth, one JSON line per event in --log (t: epoch s with ns):
//
//	listening {addr}; conn {port, state, from} for every ConnState transition; req-start / req-end {port,
//	method, uri, status, ms}; sigterm; shutdown-return {err, hookOpenAtReturn: remote ports whose ConnState hook has not yet said closed (idle ones Shutdown just closed included)};
//	exit {code}.
//
// Usage: x27g-server --addr 10.99.0.2:8080 --log FILE --inst N [--grace 1s] [--idle-timeout 60s]
//
//	[--slow-after-term-ms 0]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"
)

var (
	logMu   sync.Mutex
	logFile *os.File
	inst    int
	pid     = os.Getpid()
)

func logEv(ev string, kv map[string]any) {
	m := map[string]any{"t": float64(time.Now().UnixNano()) / 1e9, "inst": inst, "pid": pid, "ev": ev}
	for k, v := range kv {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	logMu.Lock()
	logFile.Write(append(b, '\n'))
	logMu.Unlock()
}

func portOf(addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return -1
	}
	n, _ := strconv.Atoi(p)
	return n
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(s int) { w.status = s; w.ResponseWriter.WriteHeader(s) }

func main() {
	addr := flag.String("addr", "10.99.0.2:8080", "listen address")
	logPath := flag.String("log", "/dev/stdout", "JSON lines log")
	flag.IntVar(&inst, "inst", 1, "instance number")
	grace := flag.Duration("grace", time.Second, "Shutdown context")
	idle := flag.Duration("idle-timeout", 60*time.Second, "IdleTimeout")
	slowAfterTerm := flag.Int("slow-after-term-ms", 0, "a /slow request waiting at SIGTERM answers this long after its start")
	flag.Parse()
	var err error
	if logFile, err = os.OpenFile(*logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}

	term := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/items/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, "{\"ok\":true}\n")
	})
	mux.HandleFunc("/orders", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		io.WriteString(w, "{\"created\":true}\n")
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ms, err := strconv.Atoi(r.URL.Query().Get("ms"))
		if err != nil || ms < 0 || ms > 5000 {
			ms = 500
		}
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-term:
			wait := time.Duration(ms) * time.Millisecond
			if *slowAfterTerm > 0 {
				wait = time.Duration(*slowAfterTerm) * time.Millisecond
			}
			time.Sleep(time.Until(start.Add(wait)))
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, "{\"slow\":true}\n")
	})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		port := portOf(r.RemoteAddr)
		t0 := time.Now()
		logEv("req-start", map[string]any{"port": port, "method": r.Method, "uri": r.RequestURI})
		sw := &statusWriter{ResponseWriter: w, status: 200}
		mux.ServeHTTP(sw, r)
		logEv("req-end", map[string]any{"port": port, "method": r.Method, "uri": r.RequestURI, "status": sw.status,
			"ms": float64(time.Since(t0).Microseconds()) / 1000})
	})

	var openMu sync.Mutex
	open := map[int]bool{}
	srv := &http.Server{
		Handler:     handler,
		IdleTimeout: *idle,
		ConnState: func(c net.Conn, s http.ConnState) {
			port := portOf(c.RemoteAddr().String())
			openMu.Lock()
			if s == http.StateClosed || s == http.StateHijacked {
				delete(open, port)
			} else {
				open[port] = true
			}
			openMu.Unlock()
			logEv("conn", map[string]any{"port": port, "state": s.String()})
		},
	}
	lc := net.ListenConfig{Control: func(network, address string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, 0xf /* SO_REUSEPORT */, 1)
		}); err != nil {
			return err
		}
		return serr
	}}
	ln, err := lc.Listen(context.Background(), "tcp", *addr)
	if err != nil {
		logEv("listen-error", map[string]any{"err": err.Error()})
		os.Exit(2)
	}
	logEv("listening", map[string]any{"addr": *addr, "idleTimeoutS": idle.Seconds(), "graceS": grace.Seconds(),
		"slowAfterTermMs": *slowAfterTerm, "go": runtime.Version()})

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case <-sig:
	case err := <-served:
		logEv("serve-error", map[string]any{"err": fmt.Sprint(err)})
		os.Exit(1)
	}
	logEv("sigterm", nil)
	close(term)
	ctx, cancel := context.WithTimeout(context.Background(), *grace)
	defer cancel()
	err = srv.Shutdown(ctx)
	openMu.Lock()
	ports := []int{}
	for p := range open {
		ports = append(ports, p)
	}
	openMu.Unlock()
	sort.Ints(ports)
	logEv("shutdown-return", map[string]any{"err": fmt.Sprint(err), "hookOpenAtReturn": ports})
	code := 0
	if err != nil {
		code = 1
	}
	logEv("exit", map[string]any{"code": code})
	os.Exit(code) // like log.Fatal(srv.Shutdown(ctx)): the kernel closes what is still open
}
