// go-http: Go net/http programs for the sample recorders (server, client, reverse proxy), each
// logging one JSON line per request on stdout, so a recorder's meta script can check the capture
// against what the programs themselves saw. Standard library only; built with `go build` at
// record time (Debian's golang-go, Go 1.19 or later).
//
//	go-http server -addr IP:PORT [-idle D] [-write D]
//	    GET/POST any path; ?sleep=MS delays the answer (the handler sleeps, then answers 200).
//	go-http client -url BASE [-timeout D] [-par N] [-maxidle N] -steps METHOD:PATH:GAPMS,...
//	    runs the steps in N goroutines at once (each sleeps GAPMS before its request).
//	go-http proxy -addr IP:PORT -backend URL [-bind IP] [-respheader D]
//	    httputil.ReverseProxy (its default error handler answers 502 to any upstream error).
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
	"net/http/httptrace"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

var out = json.NewEncoder(os.Stdout)
var outMu sync.Mutex

func emit(v map[string]interface{}) {
	v["t"] = float64(time.Now().UnixNano()) / 1e9
	outMu.Lock()
	defer outMu.Unlock()
	_ = out.Encode(v)
}

func main() {
	if len(os.Args) < 2 {
		log.Fatal("usage: go-http server|client|proxy [flags]")
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	idle := fs.Duration("idle", 0, "server IdleTimeout")
	write := fs.Duration("write", 0, "server WriteTimeout")
	base := fs.String("url", "http://127.0.0.1:8080", "client: base URL")
	timeout := fs.Duration("timeout", 0, "client: http.Client Timeout")
	par := fs.Int("par", 1, "client: goroutines running the steps at once")
	steps := fs.String("steps", "GET:/:0", "client: METHOD:PATH:GAPMS,...")
	maxIdle := fs.Int("maxidle", 8, "client: Transport MaxIdleConnsPerHost (0: Go's default, 2)")
	backend := fs.String("backend", "http://127.0.0.1:8081", "proxy: backend URL")
	bind := fs.String("bind", "", "proxy: local address of upstream connections")
	respHeader := fs.Duration("respheader", 0, "proxy: Transport ResponseHeaderTimeout")
	_ = fs.Parse(os.Args[2:])

	switch os.Args[1] {
	case "server":
		serve(*addr, *idle, *write)
	case "client":
		runClient(*base, *timeout, *par, *steps, *maxIdle)
	case "proxy":
		runProxy(*addr, *backend, *bind, *respHeader)
	default:
		log.Fatalf("unknown mode %s", os.Args[1])
	}
}

func serve(addr string, idle, write time.Duration) {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		sleep, _ := strconv.Atoi(r.URL.Query().Get("sleep"))
		time.Sleep(time.Duration(sleep) * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, "{\"path\":%q,\"body\":%d}\n", r.URL.Path, n)
		emit(map[string]interface{}{"role": "server", "method": r.Method, "uri": r.URL.RequestURI(), "remote": r.RemoteAddr, "sleptMs": sleep})
	})
	srv := &http.Server{Addr: addr, Handler: handler, IdleTimeout: idle, WriteTimeout: write}
	log.Fatal(srv.ListenAndServe())
}

func runClient(base string, timeout time.Duration, par int, steps string, maxIdle int) {
	client := &http.Client{Timeout: timeout, Transport: &http.Transport{MaxIdleConnsPerHost: maxIdle}}
	var wg sync.WaitGroup
	for g := 0; g < par; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for _, step := range strings.Split(steps, ",") {
				parts := strings.SplitN(step, ":", 3)
				gap, _ := strconv.Atoi(parts[2])
				time.Sleep(time.Duration(gap) * time.Millisecond)
				var body io.Reader
				if parts[0] == "POST" {
					body = strings.NewReader(fmt.Sprintf("{\"worker\":%d}", g))
				}
				req, _ := http.NewRequest(parts[0], base+parts[1], body)
				var conns []string
				var reused []bool
				trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
					conns = append(conns, info.Conn.LocalAddr().String())
					reused = append(reused, info.Reused)
				}}
				req = req.WithContext(httptrace.WithClientTrace(context.Background(), trace))
				start := time.Now()
				resp, err := client.Do(req)
				rec := map[string]interface{}{"role": "client", "method": parts[0], "uri": parts[1], "conns": conns, "reused": reused}
				if err != nil {
					rec["outcome"] = "error"
					rec["error"] = err.Error()
				} else {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					rec["outcome"] = "response"
					rec["status"] = resp.StatusCode
				}
				rec["elapsed"] = time.Since(start).Seconds()
				emit(rec)
			}
		}(g)
	}
	wg.Wait()
}

type errSlot struct{}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func runProxy(addr, backend, bind string, respHeader time.Duration) {
	u, err := url.Parse(backend)
	if err != nil {
		log.Fatal(err)
	}
	dialer := &net.Dialer{Timeout: 2 * time.Second}
	if bind != "" {
		dialer.LocalAddr = &net.TCPAddr{IP: net.ParseIP(bind)}
	}
	p := httputil.NewSingleHostReverseProxy(u)
	p.Transport = &http.Transport{DialContext: dialer.DialContext, ResponseHeaderTimeout: respHeader, MaxIdleConnsPerHost: 8}
	// The error handler gets the outgoing request, whose context derives from the incoming one's:
	// the upstream error is handed back through a slot in that context.
	p.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		if slot, ok := r.Context().Value(errSlot{}).(*string); ok {
			*slot = err.Error()
		}
		w.WriteHeader(http.StatusBadGateway) // what the default handler does
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: 200}
		var upstreamErr string
		p.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), errSlot{}, &upstreamErr)))
		line := map[string]interface{}{"role": "proxy", "method": r.Method, "uri": r.URL.RequestURI(), "remote": r.RemoteAddr, "status": rec.status}
		if upstreamErr != "" {
			line["error"] = upstreamErr
		}
		emit(line)
	})
	log.Fatal((&http.Server{Addr: addr, Handler: handler}).ListenAndServe())
}
