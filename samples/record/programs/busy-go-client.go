// Go net/http clients: `workers` goroutines, each with its own Transport (IdleConnTimeout 90 s,
// one connection), a GET to warm the connection, then `rounds` requests each `pause` + an offset
// (spread from lo to hi over the workers) after the last, alternating GET /index.html and POST /echo
// (100 bytes). httptrace logs each GotConn (its local address, whether reused) and each error as
// the caller got it: Go returns "read: connection reset by peer" after a bare RST, EOF after a FIN,
// and sends a failed GET again on a new connection by itself (a second GotConn). Standard library only.
package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"log"
	"net/http"
	"net/http/httptrace"
	"sync"
	"time"
)

func main() {
	url := flag.String("url", "http://127.0.0.2:8080", "")
	pause := flag.Duration("pause", time.Second, "")
	lo := flag.Duration("lo", 0, "")
	hi := flag.Duration("hi", 25*time.Millisecond, "")
	workers := flag.Int("workers", 12, "")
	rounds := flag.Int("rounds", 4, "")
	flag.Parse()
	log.SetFlags(log.Lmicroseconds)
	var wg sync.WaitGroup
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			tr := &http.Transport{IdleConnTimeout: 90 * time.Second, MaxIdleConnsPerHost: 1, MaxConnsPerHost: 1}
			c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
			off := *lo
			if *workers > 1 {
				off = *lo + time.Duration(int64(*hi-*lo)*int64(w)/int64(*workers-1))
			}
			time.Sleep(time.Duration(w) * 40 * time.Millisecond)
			for k := -1; k < *rounds; k++ {
				if k >= 0 {
					time.Sleep(*pause + off)
				}
				method, path := "GET", "/index.html"
				var body io.Reader
				if k >= 0 && k%2 == 1 {
					method, path = "POST", "/echo"
					body = bytes.NewReader(bytes.Repeat([]byte("x"), 100))
				}
				gotConns := 0
				trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
					gotConns++
					log.Printf("w%d k%d %s GotConn#%d local=%s reused=%v idle=%s", w, k, method, gotConns, i.Conn.LocalAddr(), i.Reused, i.IdleTime)
				}}
				req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), method, *url+path, body)
				resp, err := c.Do(req)
				if err != nil {
					log.Printf("w%d k%d %s ERROR %v (gotConns=%d)", w, k, method, err, gotConns)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				log.Printf("w%d k%d %s -> %d (gotConns=%d)", w, k, method, resp.StatusCode, gotConns)
			}
		}(w)
	}
	wg.Wait()
}
