// scc-sse-server: a server-sent events stream for response-abandoned-stream-go-timeout.sh.
// GET /sse?n=N&every=MS&id=ID answers 200 text/event-stream (chunked: no Content-Length) and
// writes N events MS milliseconds apart, flushing each, then returns (net/http ends the chunked
// body with its last chunk and keeps the connection alive). One log line per request when it
// ends: how many events were written and why it stopped ("done", or the write error when the
// client went away), with Unix times, for the recorder's meta.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
	"strconv"
	"time"
)

func now() string { return fmt.Sprintf("%.6f", float64(time.Now().UnixNano())/1e9) }

func main() {
	addr := os.Args[1]
	logger := log.New(os.Stdout, "", 0)
	http.HandleFunc("/sse", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		n, _ := strconv.Atoi(q.Get("n"))
		every, _ := strconv.Atoi(q.Get("every"))
		id := q.Get("id")
		if n <= 0 || n > 1000 || every <= 0 || every > 10000 {
			http.Error(w, "bad n or every", http.StatusBadRequest)
			return
		}
		flusher, ok := w.(http.Flusher)
		if !ok {
			http.Error(w, "no flusher", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusOK)
		start := now()
		sent := 0
		reason := "done"
		for k := 0; k < n; k++ {
			if k > 0 {
				select {
				case <-time.After(time.Duration(every) * time.Millisecond):
				case <-r.Context().Done():
				}
			}
			if _, err := fmt.Fprintf(w, "id: %d\ndata: event %d of %s\n\n", k, k, id); err != nil {
				reason = "write error: " + err.Error()
				break
			}
			flusher.Flush()
			if r.Context().Err() != nil {
				reason = "client gone: " + r.Context().Err().Error()
				break
			}
			sent++
		}
		logger.Printf("%s request id=%s start=%s events=%d end=%s", now(), id, start, sent, strconv.Quote(reason))
	})
	srv := &http.Server{Addr: addr, ReadHeaderTimeout: 5 * time.Second}
	logger.Printf("%s listening %s", now(), addr)
	if err := srv.ListenAndServe(); err != nil {
		logger.Printf("%s serve: %v", now(), err)
		os.Exit(1)
	}
}
