// x26s-go-server: the Go net/http server of slow-clients-more-servers.sh (round 26s), standard library
// only: http.Server{ReadHeaderTimeout: -read-header-timeout (2 s), ReadTimeout: -read-timeout (3 s)},
// every other field at its zero value (no WriteTimeout; IdleTimeout 0, so an idle kept-alive
// connection waits ReadTimeout). net/http's own reactions are kept:
//   - a head not read by ReadHeaderTimeout (counted from the accept for a connection's first request):
//     conn.serve's readRequest fails with an i/o timeout, which net/http answers with nothing
//     (isCommonNetReadError) and closes the connection;
//   - a body not read by ReadTimeout (the same read deadline, also from the accept): the handler's
//     r.Body.Read fails with an i/o timeout. net/http answers nothing by itself then: the handler does,
//     as a handler that checks its read error would: 408 Request Timeout (http.Error) for a timeout,
//     400 for another error; net/http adds Connection: close (the body was not read to its end) and
//     closes after the reply (closeWriteAndWait: FIN, then close 500 ms later).
// Routes: GET /ok/... -> 200 text/plain "ok <uri>"; PUT or POST /upload/... -> reads the body, 201.
// Go sends no Server header.
//
// Its log (-log FILE, one JSON line per event, t = wall clock epoch seconds) is the ground truth:
//
//	{"event":"conn-state","state":S,"port":P}            every ConnState hook call (new/active/idle/closed)
//	{"event":"read-error","port":P,"err":E,"timeout":B,"bytesRead":N,"lastReadAt":T}
//	                                                     the first Read on the connection that failed with
//	                                                     anything but EOF (the deadline's i/o timeout)
//	{"event":"close","port":P,"bytesRead":N,"readTimeout":B}  net/http closing the socket (wrapped Close)
//	{"event":"request","port":P,"method":M,"uri":U}      a handler call, when its head was read
//	{"event":"response","port":P,"status":S,"bodyBytes":N,"bodyErr":E,"bodyTimeout":B}
//	{"event":"listening",...}                            once: address, Go version, the timeouts
//
//	x26s-go-server -addr 127.0.0.1:8082 -log FILE -read-header-timeout 2s -read-timeout 3s
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
	"strings"
	"sync"
	"time"
)

var (
	logMu   sync.Mutex
	logFile *os.File
)

func epoch(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func logLine(e map[string]interface{}) {
	if _, ok := e["t"]; !ok {
		e["t"] = epoch(time.Now())
	}
	b, _ := json.Marshal(e)
	logMu.Lock()
	defer logMu.Unlock()
	logFile.Write(append(b, '\n'))
}

func portOf(a net.Addr) int {
	_, p, err := net.SplitHostPort(a.String())
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}

func isTimeout(err error) bool {
	var ne net.Error
	return err != nil && (errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()))
}

// trackedConn is what the listener hands net/http: the TCP connection (embedded, so CloseWrite and
// the rest stay net/http's), with its read count and its first read error logged.
type trackedConn struct {
	*net.TCPConn
	mu        sync.Mutex
	bytesRead int64
	lastRead  time.Time
	readErr   error
}

func (c *trackedConn) Read(p []byte) (int, error) {
	n, err := c.TCPConn.Read(p)
	now := time.Now()
	c.mu.Lock()
	c.bytesRead += int64(n)
	if n > 0 {
		c.lastRead = now
	}
	first := err != nil && err != io.EOF && c.readErr == nil
	if first {
		c.readErr = err
	}
	total, last := c.bytesRead, c.lastRead
	c.mu.Unlock()
	if first {
		e := map[string]interface{}{"event": "read-error", "t": epoch(now), "port": portOf(c.RemoteAddr()),
			"err": err.Error(), "timeout": isTimeout(err), "bytesRead": total}
		if !last.IsZero() {
			e["lastReadAt"] = epoch(last)
		}
		logLine(e)
	}
	return n, err
}

func (c *trackedConn) Close() error {
	c.mu.Lock()
	total, to := c.bytesRead, isTimeout(c.readErr)
	c.mu.Unlock()
	logLine(map[string]interface{}{"event": "close", "port": portOf(c.RemoteAddr()), "bytesRead": total, "readTimeout": to})
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
	addr := flag.String("addr", "127.0.0.1:8082", "listen address")
	logPath := flag.String("log", "/dev/stderr", "JSON-lines log")
	rht := flag.Duration("read-header-timeout", 2*time.Second, "http.Server ReadHeaderTimeout")
	rt := flag.Duration("read-timeout", 3*time.Second, "http.Server ReadTimeout")
	flag.Parse()
	var err error
	logFile, err = os.OpenFile(*logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		port := portOf(stringAddr(r.RemoteAddr))
		logLine(map[string]interface{}{"event": "request", "port": port, "method": r.Method, "uri": r.URL.RequestURI()})
		n, berr := io.Copy(io.Discard, r.Body)
		status, body := 200, "ok "+r.URL.RequestURI()+"\n"
		switch {
		case berr != nil && isTimeout(berr):
			status, body = http.StatusRequestTimeout, "request body not received in time\n"
		case berr != nil:
			status, body = http.StatusBadRequest, "request body: "+berr.Error()+"\n"
		case strings.HasPrefix(r.URL.Path, "/upload/") && (r.Method == http.MethodPut || r.Method == http.MethodPost):
			status, body = http.StatusCreated, "stored "+strconv.FormatInt(n, 10)+" bytes\n"
		}
		e := map[string]interface{}{"event": "response", "port": port, "status": status, "bodyBytes": n}
		if berr != nil {
			e["bodyErr"], e["bodyTimeout"] = berr.Error(), isTimeout(berr)
		}
		logLine(e)
		if status >= 400 {
			http.Error(w, strings.TrimSuffix(body, "\n"), status)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		io.WriteString(w, body)
	})
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: *rht,
		ReadTimeout:       *rt,
		ConnState: func(c net.Conn, s http.ConnState) {
			logLine(map[string]interface{}{"event": "conn-state", "state": s.String(), "port": portOf(c.RemoteAddr())})
		},
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	logLine(map[string]interface{}{"event": "listening", "addr": *addr, "go": runtime.Version(),
		"readHeaderTimeout": rht.Seconds(), "readTimeout": rt.Seconds()})
	fmt.Fprintln(os.Stderr, srv.Serve(trackedListener{ln.(*net.TCPListener)}))
}

type stringAddr string

func (a stringAddr) Network() string { return "tcp" }
func (a stringAddr) String() string  { return string(a) }
