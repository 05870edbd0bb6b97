// tls13-mtls-server: a Go net/http HTTPS server for the tls-handshake-failed-mtls13 recorder.
//   require: tls.RequireAndVerifyClientCert with the recorder's CA: a client with no certificate,
//            or one the CA did not sign, fails the handshake; over TLS 1.3 after its Finished, the
//            server's alert encrypted (Go 1.19 sends bad_certificate for both), over TLS 1.2 right
//            after the client's flight, in clear (before the server's ChangeCipherSpec);
//   idle:    no client certificates, session tickets disabled, ReadTimeout 1.5 s: a handshake-only
//            connection is closed by the server with its close_notify after 1.5 s (a near miss:
//            an encrypted alert with no ticket before it, but after a timer, not on the flight).
// Handshake errors go to stderr through http.Server.ErrorLog ("http: TLS handshake error …").
package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"
)

func main() {
	// args: ADDR CERT KEY CA MODE
	addr, certFile, keyFile, caFile, mode := os.Args[1], os.Args[2], os.Args[3], os.Args[4], os.Args[5]
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		log.Fatal(err)
	}
	pool := x509.NewCertPool()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		log.Fatal(err)
	}
	pool.AppendCertsFromPEM(pem)
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}
	srv := &http.Server{Addr: addr, TLSConfig: cfg, ErrorLog: log.New(os.Stderr, "", log.Lmicroseconds)}
	if mode == "idle" {
		cfg.ClientAuth = tls.NoClientCert
		cfg.SessionTicketsDisabled = true
		srv.ReadTimeout = 1500 * time.Millisecond
	}
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	log.Fatal(srv.ListenAndServeTLS("", ""))
}
