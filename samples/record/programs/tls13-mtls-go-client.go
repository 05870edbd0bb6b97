// tls13-mtls-go-client: one GET with Go's net/http from a fixed local port, trusting the recorder's
// CA, with a client certificate when one is given; prints "PORT<TAB>status<TAB>N" or
// "PORT<TAB>error<TAB>…". Go's client sends its certificate only when a CA named in the server's
// CertificateRequest signed it: without one its Certificate message is empty.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

func main() {
	// args: LOCAL_PORT URL CA [CERT KEY]
	port, err := strconv.Atoi(os.Args[1])
	if err != nil {
		panic(err)
	}
	url, caFile := os.Args[2], os.Args[3]
	pool := x509.NewCertPool()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		panic(err)
	}
	pool.AppendCertsFromPEM(pem)
	cfg := &tls.Config{RootCAs: pool, ServerName: "localhost"}
	if len(os.Args) > 5 {
		c, err := tls.LoadX509KeyPair(os.Args[4], os.Args[5])
		if err != nil {
			panic(err)
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	dialer := &net.Dialer{Timeout: 3 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: port}}
	tr := &http.Transport{DialContext: dialer.DialContext, TLSClientConfig: cfg}
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		fmt.Printf("%d\terror\t%v\n", port, err)
		return
	}
	fmt.Printf("%d\tstatus\t%d\n", port, resp.StatusCode)
	resp.Body.Close()
	tr.CloseIdleConnections()
}
