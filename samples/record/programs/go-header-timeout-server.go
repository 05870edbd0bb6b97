// A Go net/http server with ReadHeaderTimeout 1 s and nothing else set but IdleTimeout 30 s
// (standard library only), for the recorder slow-client-timeout-go-header.sh. A head still
// arriving when ReadHeaderTimeout runs out ends the read with `i/o timeout` and net/http closes
// the connection without a byte (Go 1.19; no Server header on any answer). ConnState logs each
// connection's states with their times: the close of a head timed out shows as new -> closed.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	logPath := flag.String("log", "", "log file")
	lifetime := flag.Duration("lifetime", 60*time.Second, "exit after this long")
	flag.Parse()
	if *logPath != "" {
		f, err := os.Create(*logPath)
		if err != nil {
			log.Fatal(err)
		}
		log.SetOutput(f)
	}
	log.SetFlags(0)
	go func() { time.Sleep(*lifetime); os.Exit(0) }()
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		log.Printf("%.6f SRV %s %s %s", float64(time.Now().UnixMicro())/1e6, r.RemoteAddr, r.Method, r.URL)
		fmt.Fprintf(w, "ok %s\n", r.URL.Path)
	})
	s := &http.Server{Addr: *addr, Handler: mux,
		ReadHeaderTimeout: 1000 * time.Millisecond,
		IdleTimeout:       30 * time.Second,
		ConnState: func(c net.Conn, st http.ConnState) {
			log.Printf("%.6f STATE %s %s", float64(time.Now().UnixMicro())/1e6, c.RemoteAddr(), st)
		},
	}
	log.Fatal(s.ListenAndServe())
}
