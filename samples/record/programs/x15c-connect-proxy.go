// A minimal HTTP CONNECT proxy with an idle timer on its tunnels, for connect-tunnel-stale-reuse.sh:
// after IDLE without a byte in either direction it closes both legs (FIN) and logs
// "tunnel closing: idle timeout", as a forward proxy's tunnel idle timeout does (Squid read_timeout,
// tinyproxy Timeout). It exits by itself after 2 minutes, so a recorder that dies leaves nothing.
// Usage: x15c-connect-proxy LISTEN_ADDR BIND_ADDR IDLE_SECONDS
package main

import (
	"bufio"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
)

func main() {
	ln, err := net.Listen("tcp", os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	bind, err := net.ResolveTCPAddr("tcp", os.Args[2]+":0")
	if err != nil {
		log.Fatal(err)
	}
	secs, _ := strconv.ParseFloat(os.Args[3], 64)
	idle := time.Duration(secs * float64(time.Second))
	log.SetFlags(log.Ltime | log.Lmicroseconds | log.LUTC)
	log.Printf("listening %s, tunnel idle timeout %v", os.Args[1], idle)
	go func() { time.Sleep(2 * time.Minute); os.Exit(0) }()
	for {
		c, err := ln.Accept()
		if err != nil {
			continue
		}
		go handle(c, bind, idle)
	}
}

func handle(c net.Conn, bind *net.TCPAddr, idle time.Duration) {
	peer := c.RemoteAddr().String()
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil || req.Method != "CONNECT" {
		c.Write([]byte("HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
		c.Close()
		return
	}
	d := net.Dialer{Timeout: 3 * time.Second, LocalAddr: bind}
	u, err := d.Dial("tcp", req.Host)
	if err != nil {
		log.Printf("%s CONNECT %s dial failed: %v", peer, req.Host, err)
		c.Write([]byte("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
		c.Close()
		return
	}
	c.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
	log.Printf("%s CONNECT %s established (upstream %s)", peer, req.Host, u.LocalAddr())
	var mu sync.Mutex
	last := time.Now()
	done := make(chan string, 2)
	pump := func(dst net.Conn, src net.Conn, r interface{ Read([]byte) (int, error) }, name string) {
		buf := make([]byte, 32768)
		for {
			mu.Lock()
			src.SetReadDeadline(last.Add(idle))
			mu.Unlock()
			n, err := r.Read(buf)
			if n > 0 {
				mu.Lock()
				last = time.Now()
				mu.Unlock()
				dst.Write(buf[:n])
			}
			if err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					mu.Lock()
					quiet := time.Since(last)
					mu.Unlock()
					if quiet < idle {
						continue // the other direction carried a byte meanwhile
					}
					done <- "idle timeout"
					return
				}
				done <- name + " " + err.Error()
				return
			}
		}
	}
	go pump(u, c, br, "client->upstream")
	go pump(c, u, u, "upstream->client")
	why := <-done
	log.Printf("%s CONNECT %s tunnel closing: %s", peer, req.Host, why)
	c.Close()
	u.Close()
}
