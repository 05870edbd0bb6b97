// A Go net/http server (standard library only) for the recorder upload-read-timeout-go.sh: ReadTimeout
// 1 s, no WriteTimeout, IdleTimeout 30 s. POST /upload refuses at once, on its head, a body that
// announces more than -limit bytes (413, without reading it); else it reads the body to its end and
// answers 200 "got N". A body still arriving when ReadTimeout runs out ends the handler's read in
// `i/o timeout`, and the handler answers 400 (no WriteTimeout: the answer goes out), then net/http
// closes with the rest of the body unread. Logs one line per request: the client's address, the URL,
// what was read and the error.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	logPath := flag.String("log", "", "log file")
	limit := flag.Int64("limit", 65536, "largest Content-Length accepted")
	lifetime := flag.Duration("lifetime", 60*time.Second, "exit after this long")
	flag.Parse()
	if *logPath != "" {
		f, err := os.Create(*logPath)
		if err != nil {
			log.Fatal(err)
		}
		log.SetOutput(f)
	}
	log.SetFlags(log.Lmicroseconds)
	go func() { time.Sleep(*lifetime); os.Exit(0) }()
	mux := http.NewServeMux()
	mux.HandleFunc("/upload", func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > *limit {
			log.Printf("SRV %s %s %s refused length=%d", r.RemoteAddr, r.Method, r.URL, r.ContentLength)
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return
		}
		n, err := io.Copy(io.Discard, r.Body)
		log.Printf("SRV %s %s %s read n=%d err=%v", r.RemoteAddr, r.Method, r.URL, n, err)
		if err != nil {
			http.Error(w, "read error", http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "got %d\n", n)
	})
	s := &http.Server{Addr: *addr, Handler: mux, ReadTimeout: time.Second, IdleTimeout: 30 * time.Second}
	log.Fatal(s.ListenAndServe())
}
