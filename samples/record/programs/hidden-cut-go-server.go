// A Go net/http backend with http.Server{WriteTimeout} (recorder response-truncated-hidden-by-caddy.sh):
// GET /slow?chunks=N&ms=M writes N chunks of 64 bytes M ms apart, each flushed (chunked encoding),
// and logs each write error: past WriteTimeout the next write fails ("i/o timeout") and net/http
// closes the connection without the last chunk. Stdlib only.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.3:9003", "listen address")
	wt := flag.Duration("wt", time.Second, "http.Server.WriteTimeout")
	flag.Parse()
	logger := log.New(os.Stdout, "", 0)
	stamp := func() string { return fmt.Sprintf("%.6f", float64(time.Now().UnixNano())/1e9) }
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		chunks, _ := strconv.Atoi(r.URL.Query().Get("chunks"))
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		if chunks <= 0 || chunks > 50 || ms < 0 || ms > 1000 {
			http.Error(w, "bad parameters", http.StatusBadRequest)
			return
		}
		logger.Printf("%s START %s %s", stamp(), r.RemoteAddr, r.URL.RequestURI())
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusOK)
		flusher, _ := w.(http.Flusher)
		line := strings.Repeat("d", 63) + "\n"
		written := 0
		for i := 0; i < chunks; i++ {
			if i > 0 {
				time.Sleep(time.Duration(ms) * time.Millisecond)
			}
			n, err := w.Write([]byte(line))
			written += n
			if err == nil && flusher != nil {
				flusher.Flush()
			}
			if err != nil {
				logger.Printf("%s WRITE-ERR %s %s after %d bytes: %v", stamp(), r.RemoteAddr, r.URL.RequestURI(), written, err)
				return
			}
		}
		logger.Printf("%s DONE %s %s %d bytes", stamp(), r.RemoteAddr, r.URL.RequestURI(), written)
	})
	srv := &http.Server{Addr: *addr, Handler: mux, WriteTimeout: *wt, IdleTimeout: 30 * time.Second}
	logger.Fatal(srv.ListenAndServe())
}
