// A Go net/http server with IdleTimeout whose one CPU (run it with GOMAXPROCS=1) a spinning
// goroutine keeps busy: its idle timer fires on time, but the goroutine that closes the connection
// runs some ms later, so a request that arrives in between is closed unread: the kernel answers it
// with a RST and no FIN before it (blind round 12, S2). Standard library only. Logs each request and
// connection state with microseconds.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.2:8080", "")
	idle := flag.Duration("idle", time.Second, "http.Server IdleTimeout")
	burn := flag.Int("burn", 1, "spinning goroutines")
	runFor := flag.Duration("run-for", 30*time.Second, "exit after this long")
	flag.Parse()
	log.SetFlags(log.Lmicroseconds)
	for i := 0; i < *burn; i++ {
		go func() {
			x := 0
			for {
				x++
			}
		}()
	}
	go func() { time.Sleep(*runFor); os.Exit(0) }()
	srv := &http.Server{Addr: *addr, IdleTimeout: *idle, ReadHeaderTimeout: 30 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n, _ := io.Copy(io.Discard, r.Body)
			fmt.Fprintf(w, "ok %s %d\n", r.Method, n)
			log.Printf("REQ %s %s %s body=%d", r.RemoteAddr, r.Method, r.URL.Path, n)
		}),
		ConnState: func(c net.Conn, s http.ConnState) { log.Printf("STATE %s %s", c.RemoteAddr(), s) },
	}
	log.Printf("listening %s IdleTimeout=%s burn=%d", *addr, *idle, *burn)
	log.Fatal(srv.ListenAndServe())
}
