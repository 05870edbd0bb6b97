// A Go net/http server with a whole-request ReadTimeout (standard library only), for the recorder
// slow-client-timeout-upload-cut.sh: POST /upload reads the body to its end and answers 200 "got N";
// a body still arriving when ReadTimeout runs out ends in `i/o timeout` and net/http closes the
// connection without a response (the handler's 400 cannot be written: the connection is dead).
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
		n, err := io.Copy(io.Discard, r.Body)
		log.Printf("SRV %s %s %s read n=%d of %d err=%v", r.RemoteAddr, r.Method, r.URL, n, r.ContentLength, err)
		if err != nil {
			http.Error(w, "read error", http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "got %d\n", n)
	})
	s := &http.Server{Addr: *addr, Handler: mux,
		ReadHeaderTimeout: 700 * time.Millisecond,
		ReadTimeout:       2000 * time.Millisecond,
		WriteTimeout:      1500 * time.Millisecond,
		IdleTimeout:       1000 * time.Millisecond,
	}
	log.Fatal(s.ListenAndServe())
}
