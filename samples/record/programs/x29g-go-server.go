// x29g-go-server: a Go net/http server whose only timeout is WriteTimeout (response-truncated-server-
// time-limits). Standard library only.
//
// net/http (Go 1.19) sets the connection's write deadline to now + WriteTimeout as readRequest returns,
// i.e. once the request's headers have been read; every write after that deadline fails at once with
// "i/o timeout" (a write blocked on a full socket buffer fails when the deadline passes). A handler
// that returns on its first write error then ends the request; since the body is incomplete (or the
// write failed) the connection is not reused and conn.close() closes the socket: a FIN, after whatever
// the kernel still holds in the send buffer.
//
// Handlers:
//
//	/ok?size=N                     N bytes (default 2048) with Content-Length
//	/stream?total=N&chunk=C&every=MS&cl=1|0
//	                               N bytes written C at a time every MS ms, each followed by Flush;
//	                               with cl=1 a Content-Length: N header, else chunked; returns on the
//	                               first write error
//	/file/NAME                     http.ServeContent of the file NAME in -dir (an *os.File: Go sends it
//	                               with sendfile(2))
//
// Log (-log, JSON lines): "request" (time the handler started, which is when the write deadline was
// set, to within microseconds; client port, method, path), "done" (bytes the handler wrote, the first
// write error, time), and from a wrapped listener "close" (time net/http called Close on the socket,
// client port), "accept".
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

var (
	logMu  sync.Mutex
	logOut *os.File
)

func now() float64 { return float64(time.Now().UnixNano()) / 1e9 }

func logj(m map[string]interface{}) {
	logMu.Lock()
	defer logMu.Unlock()
	b, _ := json.Marshal(m)
	logOut.Write(append(b, '\n'))
}

func portOf(a net.Addr) int {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.Port
	}
	return 0
}

// loggedConn embeds *net.TCPConn so that ReadFrom (sendfile) and the deadline methods stay those of the
// TCP connection; only Close is wrapped, to log when net/http closes the socket.
type loggedConn struct {
	*net.TCPConn
	once sync.Once
}

func (c *loggedConn) Close() error {
	t := now()
	err := c.TCPConn.Close()
	c.once.Do(func() {
		logj(map[string]interface{}{"event": "close", "t": t, "port": portOf(c.RemoteAddr())})
	})
	return err
}

type loggedListener struct{ *net.TCPListener }

func (l loggedListener) Accept() (net.Conn, error) {
	c, err := l.TCPListener.AcceptTCP()
	if err != nil {
		return nil, err
	}
	logj(map[string]interface{}{"event": "accept", "t": now(), "port": portOf(c.RemoteAddr())})
	return &loggedConn{TCPConn: c}, nil
}

func intArg(r *http.Request, name string, def int) int {
	if v := r.URL.Query().Get(name); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return def
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	logPath := flag.String("log", "", "JSON-lines log")
	dir := flag.String("dir", ".", "directory of /file/")
	wt := flag.Duration("write-timeout", 2*time.Second, "http.Server.WriteTimeout")
	flag.Parse()
	var err error
	logOut, err = os.OpenFile(*logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	start := func(r *http.Request) (int, float64) {
		p := 0
		if i := strings.LastIndexByte(r.RemoteAddr, ':'); i >= 0 {
			p, _ = strconv.Atoi(r.RemoteAddr[i+1:])
		}
		t := now()
		logj(map[string]interface{}{"event": "request", "t": t, "port": p, "method": r.Method, "path": r.URL.RequestURI()})
		return p, t
	}
	done := func(p int, path string, written int, werr error) {
		m := map[string]interface{}{"event": "done", "t": now(), "port": p, "path": path, "written": written}
		if werr != nil {
			m["error"] = werr.Error()
		}
		logj(m)
	}
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		p, _ := start(r)
		n := intArg(r, "size", 2048)
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", strconv.Itoa(n))
		k, werr := w.Write([]byte(strings.Repeat("k", n)))
		done(p, r.URL.RequestURI(), k, werr)
	})
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		p, _ := start(r)
		total := intArg(r, "total", 1<<20)
		chunk := intArg(r, "chunk", 8192)
		every := time.Duration(intArg(r, "every", 100)) * time.Millisecond
		w.Header().Set("Content-Type", "application/octet-stream")
		if intArg(r, "cl", 1) == 1 {
			w.Header().Set("Content-Length", strconv.Itoa(total))
		}
		fl := w.(http.Flusher)
		buf := []byte(strings.Repeat("s", chunk))
		written := 0
		var werr error
		for written < total {
			n := chunk
			if total-written < n {
				n = total - written
			}
			k, err := w.Write(buf[:n])
			written += k
			if err != nil {
				werr = err
				break
			}
			fl.Flush()
			if written < total {
				time.Sleep(every)
			}
		}
		done(p, r.URL.RequestURI(), written, werr)
	})
	mux.HandleFunc("/file/", func(w http.ResponseWriter, r *http.Request) {
		p, _ := start(r)
		name := filepath.Base(r.URL.Path)
		f, err := os.Open(filepath.Join(*dir, name))
		if err != nil {
			http.NotFound(w, r)
			done(p, r.URL.RequestURI(), 0, err)
			return
		}
		defer f.Close()
		st, _ := f.Stat()
		w.Header().Set("Content-Type", "application/octet-stream")
		http.ServeContent(w, r, name, st.ModTime(), f)
		// ServeContent reports no error; the bytes that left the handler are seen in the capture.
		done(p, r.URL.RequestURI(), -1, nil)
	})
	srv := &http.Server{Handler: mux, WriteTimeout: *wt}
	la, err := net.ResolveTCPAddr("tcp", *addr)
	if err != nil {
		panic(err)
	}
	ln, err := net.ListenTCP("tcp", la)
	if err != nil {
		panic(err)
	}
	fmt.Fprintf(os.Stderr, "x29g-go-server: listening on %s, WriteTimeout %s\n", *addr, *wt)
	srv.Serve(loggedListener{ln})
}
