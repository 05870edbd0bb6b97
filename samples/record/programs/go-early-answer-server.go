// go-early-answer-server: a Go net/http server that answers an upload before reading it, for
// rst-on-close-go-early-answer.sh. Standard library only (Go 1.19, GOPATH mode, no modules).
//
//	POST /upload  answers 413 at once WITHOUT reading the body: the handler sets
//	              "Connection: close", WriteHeader(413) and writes a short text body. Because the
//	              announced body is larger than net/http's maxPostHandlerReadBytes (256 KiB), the
//	              server does not drain it: body.Close gives up early (earlyClose), and conn.serve
//	              calls closeWriteAndWait: flush, CloseWrite (shutdown(SHUT_WR): a FIN), sleep
//	              rstAvoidanceDelay (500 ms in Go 1.19) without reading, then Close. The request
//	              bytes that arrived meanwhile lie unread, so the kernel answers the close with RST.
//	POST /small   reads the whole body, answers 200 "stored N bytes" (keep-alive).
//	anything else 404.
//
// -rcvbuf N sets SO_RCVBUF on the listening socket (inherited by accepted sockets; set before
// listen() so the window scale in the SYN-ACK matches); 0 keeps the kernel default.
//
// Its log (-log FILE, one JSON line per event, t = wall-clock epoch seconds) is the server's own
// account, read by programs/go-early-answer-meta.py:
//
//	{"event":"listening",...}    once: addr, go version, rcvbuf
//	{"event":"request",...}      each request: port (the client's), method, uri, contentLength,
//	                             status, bodyBytesRead (what the handler read)
//	{"event":"close-write",...}  the wrapped connection's CloseWrite (net/http's FIN before the delay)
//	{"event":"close",...}        the wrapped connection's Close (after the delay for an early answer)
//	{"event":"conn-state",...}   every http.Server.ConnState hook call (new/active/idle/closed)
//
// -lifetime D ends the process after D (a bound; the recorder also ends it by PID).
//
//	go-early-answer-server -addr 127.0.0.1:8080 -log FILE [-rcvbuf N] [-lifetime 60s]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
)

var (
	logMu  sync.Mutex
	logEnc *json.Encoder
)

func emit(v map[string]interface{}) {
	v["t"] = float64(time.Now().UnixNano()) / 1e9
	logMu.Lock()
	defer logMu.Unlock()
	_ = logEnc.Encode(v)
}

func portOf(addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}

// loggedConn embeds the accepted *net.TCPConn and logs CloseWrite and Close. net/http finds
// CloseWrite through its closeWriter interface, so the wrapper does not change its behaviour.
type loggedConn struct {
	*net.TCPConn
	once sync.Once
}

func (c *loggedConn) CloseWrite() error {
	err := c.TCPConn.CloseWrite()
	emit(map[string]interface{}{"event": "close-write", "port": portOf(c.RemoteAddr().String()), "err": errString(err)})
	return err
}

func (c *loggedConn) Close() error {
	err := c.TCPConn.Close()
	c.once.Do(func() {
		emit(map[string]interface{}{"event": "close", "port": portOf(c.RemoteAddr().String()), "err": errString(err)})
	})
	return err
}

func errString(err error) interface{} {
	if err == nil {
		return nil
	}
	return err.Error()
}

type loggedListener struct{ *net.TCPListener }

func (l loggedListener) Accept() (net.Conn, error) {
	c, err := l.TCPListener.AcceptTCP()
	if err != nil {
		return nil, err
	}
	return &loggedConn{TCPConn: c}, nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	logPath := flag.String("log", "", "event log (JSON lines); stdout when empty")
	rcvbuf := flag.Int("rcvbuf", 0, "SO_RCVBUF of the listening socket (0: kernel default)")
	lifetime := flag.Duration("lifetime", 60*time.Second, "exit after this long")
	flag.Parse()

	logEnc = json.NewEncoder(os.Stdout)
	if *logPath != "" {
		f, err := os.OpenFile(*logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			log.Fatal(err)
		}
		defer f.Close()
		logEnc = json.NewEncoder(f)
	}

	lc := net.ListenConfig{Control: func(network, address string, rc syscall.RawConn) error {
		if *rcvbuf <= 0 {
			return nil
		}
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, *rcvbuf)
		}); err != nil {
			return err
		}
		return serr
	}}
	ln, err := lc.Listen(context.Background(), "tcp4", *addr)
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/upload", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.NotFound(w, r)
			return
		}
		// The early answer: no read of r.Body at all.
		body := "upload refused: request body too large\n"
		w.Header().Set("Connection", "close")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		_, _ = io.WriteString(w, body)
		emit(map[string]interface{}{"event": "request", "port": portOf(r.RemoteAddr), "method": r.Method,
			"uri": r.RequestURI, "contentLength": r.ContentLength, "status": 413, "bodyBytesRead": 0})
	})
	mux.HandleFunc("/small", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.NotFound(w, r)
			return
		}
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			http.Error(w, "read error", http.StatusBadRequest)
			return
		}
		body := fmt.Sprintf("stored %d bytes\n", n)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, body)
		emit(map[string]interface{}{"event": "request", "port": portOf(r.RemoteAddr), "method": r.Method,
			"uri": r.RequestURI, "contentLength": r.ContentLength, "status": 200, "bodyBytesRead": n})
	})

	srv := &http.Server{
		Handler: mux,
		ConnState: func(c net.Conn, s http.ConnState) {
			emit(map[string]interface{}{"event": "conn-state", "port": portOf(c.RemoteAddr().String()), "state": s.String()})
		},
	}
	time.AfterFunc(*lifetime, func() { os.Exit(0) })
	emit(map[string]interface{}{"event": "listening", "addr": ln.Addr().String(), "go": runtime.Version(), "rcvbuf": *rcvbuf})
	if err := srv.Serve(loggedListener{ln.(*net.TCPListener)}); err != nil {
		log.Fatal(err)
	}
}
