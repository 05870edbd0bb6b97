// tls-hsf-go-client: GETs each URL given once with Go's net/http (default transport: TLS 1.3,
// the system trust store, which does not hold the recorder's self-signed certificate), from a
// fixed local port, and prints one line per request: the URL, the local port and the error (or
// the status). Go's TLS 1.3 client switches to its handshake keys right after the ServerHello,
// so the alert it sends on a certificate it does not trust is encrypted.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

func main() {
	// args: FIRST_LOCAL_PORT URL...
	port, err := strconv.Atoi(os.Args[1])
	if err != nil {
		panic(err)
	}
	for i, url := range os.Args[2:] {
		local := port + i
		dialer := &net.Dialer{Timeout: 3 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: local}}
		tr := &http.Transport{DialContext: dialer.DialContext, ForceAttemptHTTP2: false}
		client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
		resp, err := client.Get(url)
		if err != nil {
			fmt.Printf("%s\t%d\terror\t%v\n", url, local, err)
		} else {
			fmt.Printf("%s\t%d\tstatus\t%d\n", url, local, resp.StatusCode)
			resp.Body.Close()
		}
		tr.CloseIdleConnections()
		time.Sleep(200 * time.Millisecond)
	}
}
