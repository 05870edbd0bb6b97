// tls-writetimeout-server: a Go net/http HTTPS server with http.Server{WriteTimeout}, TLS 1.3 only,
// HTTP/1.1 only (TLSNextProto empty: ALPN http/1.1, so a client offering h2 gets HTTP/1.1, which TLS
// 1.3 keeps encrypted on the wire). GET /slow?ms=N sleeps N ms, then writes "ok\n". It logs one JSON
// line per request: its client's port, the path, when the handler started and ended, and whether
// the write failed. It exits by itself after -max-seconds. With -tls12 it speaks TLS 1.2 only (its
// ServerHello, ALPN choice included, then in clear); -idle sets http.Server{IdleTimeout} (0: Go's
// default, no idle timeout without a ReadTimeout).
package main

import (
	"crypto/tls"
	"encoding/json"
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8443", "listen address")
	cert := flag.String("cert", "", "certificate (PEM)")
	key := flag.String("key", "", "key (PEM)")
	write := flag.Duration("write", 2*time.Second, "http.Server WriteTimeout")
	maxSeconds := flag.Int("max-seconds", 60, "exit after this long")
	logPath := flag.String("log", "", "JSON lines log")
	tls12 := flag.Bool("tls12", false, "TLS 1.2 only (default: TLS 1.3 only)")
	idle := flag.Duration("idle", 0, "http.Server IdleTimeout")
	flag.Parse()
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS13, NextProtos: []string{"http/1.1"}}
	if *tls12 {
		tlsConfig.MinVersion = tls.VersionTLS12
		tlsConfig.MaxVersion = tls.VersionTLS12
	}
	out, err := os.Create(*logPath)
	if err != nil {
		log.Fatal(err)
	}
	enc := json.NewEncoder(out)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		start := time.Now()
		time.Sleep(time.Duration(ms) * time.Millisecond)
		_, werr := w.Write([]byte("ok\n"))
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		_, port, _ := net.SplitHostPort(r.RemoteAddr)
		msg := ""
		if werr != nil {
			msg = werr.Error()
		}
		enc.Encode(map[string]interface{}{"port": port, "uri": r.URL.RequestURI(), "start": float64(start.UnixNano()) / 1e9,
			"end": float64(time.Now().UnixNano()) / 1e9, "writeError": msg})
	})
	srv := &http.Server{
		Addr:         *addr,
		Handler:      mux,
		WriteTimeout: *write,
		IdleTimeout:  *idle,
		TLSConfig:    tlsConfig,
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	go func() {
		time.Sleep(time.Duration(*maxSeconds) * time.Second)
		os.Exit(0)
	}()
	log.Fatal(srv.ListenAndServeTLS(*cert, *key))
}
