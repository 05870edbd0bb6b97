// x22g-go-server: a tiny Go net/http server for keepalive-race-go-server.sh (round 22g), standard
// library only: http.Server{IdleTimeout: -idle-timeout (2 s)}, every other field at its zero value
// (no ReadTimeout, ReadHeaderTimeout, WriteTimeout; keep-alives on). GET -> 200 text/plain
// "ok <uri>", POST -> reads the body, 201 application/json. Go sends no Server header (only Date,
// Content-Type, Content-Length).
//
// Its log (-log FILE, one JSON line per event, t = wall clock epoch seconds) is the ground truth:
//
//	  {"event":"request",...}        each request the handler served: port (the client's), method, uri,
//	                                 status, bodyBytes (the format programs/x19l-meta.py reads)
//	  {"event":"conn-state",...}     every http.Server.ConnState hook call: state new/active/idle/closed,
//	                                 with the port (StateClosed is called after the socket was closed)
//	  {"event":"idle-timeout",...}   the server's own idle close: the listener's connections are wrapped,
//	                                 and when net/http closes one that is in StateIdle (by the ConnState
//	                                 hook) and whose last Read returned a timeout (the IdleTimeout read
//	                                 deadline, set before the Peek that waits for the next request),
//	                                 this line is written just before the real Close (the FIN, or an RST
//	                                 when a request arrived after that Read failed and lies unread):
//	                                 port, peer, idleSeconds (StateIdle to this close). The format
//	                                 programs/x20h-meta.py --idle-log reads.
//	  {"event":"listening",...}      once: address, Go version, idle timeout.
//
//		x22g-go-server -addr 10.99.0.2:8080 -log FILE -idle-timeout 2s
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"
)

var (
	logMu   sync.Mutex
	logFile *os.File
)

func logLine(e map[string]interface{}) {
	if _, ok := e["t"]; !ok {
		e["t"] = epoch(time.Now())
	}
	b, _ := json.Marshal(e)
	logMu.Lock()
	defer logMu.Unlock()
	logFile.Write(append(b, '\n'))
}

func epoch(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func portOf(a net.Addr) int {
	_, p, err := net.SplitHostPort(a.String())
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}

// trackedConn is what the listener hands net/http: the TCP connection, its last ConnState and
// whether its last Read failed on a timeout (a read deadline).
type trackedConn struct {
	*net.TCPConn
	mu          sync.Mutex
	state       http.ConnState
	idleSince   time.Time
	lastTimeout bool
}

func (c *trackedConn) Read(p []byte) (int, error) {
	n, err := c.TCPConn.Read(p)
	var ne net.Error
	to := err != nil && (errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()))
	c.mu.Lock()
	c.lastTimeout = to
	c.mu.Unlock()
	return n, err
}

func (c *trackedConn) Close() error {
	c.mu.Lock()
	idle := c.state == http.StateIdle && c.lastTimeout
	since := c.idleSince
	c.mu.Unlock()
	if idle {
		now := time.Now()
		logLine(map[string]interface{}{"event": "idle-timeout", "t": epoch(now), "port": portOf(c.RemoteAddr()),
			"peer": c.RemoteAddr().String(), "idleSeconds": float64(now.Sub(since).Microseconds()) / 1e6})
	}
	return c.TCPConn.Close()
}

type trackedListener struct{ *net.TCPListener }

func (l trackedListener) Accept() (net.Conn, error) {
	c, err := l.TCPListener.AcceptTCP()
	if err != nil {
		return nil, err
	}
	return &trackedConn{TCPConn: c}, nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	logPath := flag.String("log", "/dev/stderr", "JSON-lines log")
	idle := flag.Duration("idle-timeout", 2*time.Second, "http.Server IdleTimeout")
	flag.Parse()
	var err error
	logFile, err = os.OpenFile(*logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		status, ctype, body := 200, "text/plain", "ok "+r.URL.RequestURI()+"\n"
		if r.Method == http.MethodPost {
			b, _ := json.Marshal(map[string]interface{}{"ok": true, "bytes": n})
			status, ctype, body = 201, "application/json", string(b)+"\n"
		}
		_, p, _ := net.SplitHostPort(r.RemoteAddr)
		port, _ := strconv.Atoi(p)
		logLine(map[string]interface{}{"event": "request", "port": port, "method": r.Method, "uri": r.URL.RequestURI(),
			"status": status, "bodyBytes": n})
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		io.WriteString(w, body)
	})
	srv := &http.Server{
		Handler:     handler,
		IdleTimeout: *idle,
		ConnState: func(c net.Conn, s http.ConnState) {
			now := time.Now()
			if tc, ok := c.(*trackedConn); ok {
				tc.mu.Lock()
				tc.state = s
				if s == http.StateIdle {
					tc.idleSince = now
				}
				tc.mu.Unlock()
			}
			logLine(map[string]interface{}{"event": "conn-state", "t": epoch(now), "state": s.String(), "port": portOf(c.RemoteAddr())})
		},
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	logLine(map[string]interface{}{"event": "listening", "addr": *addr, "go": runtime.Version(), "idleTimeout": idle.Seconds()})
	fmt.Fprintln(os.Stderr, srv.Serve(trackedListener{ln.(*net.TCPListener)}))
}
