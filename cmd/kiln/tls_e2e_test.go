package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/publish/apttest"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	file string // its certificate, PEM
}

func newTestCA(t testing.TB, name string) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ca := &testCA{cert: cert, key: key, file: filepath.Join(t.TempDir(), "ca.crt")}
	writePEM(t, ca.file, "CERTIFICATE", der, 0)
	return ca
}

// issue writes a server certificate for 127.0.0.1 and localhost, with the
// serial given, to certFile and keyFile. pad > 0 pads each file to pad
// bytes (PEM readers skip the trailing blanks), so two issues differ in
// content only.
func (ca *testCA) issue(t testing.TB, certFile, keyFile string, serial int64, pad int) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "kiln"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	writePEM(t, certFile, "CERTIFICATE", der, pad)
	writePEM(t, keyFile, "PRIVATE KEY", kder, pad)
}

func writePEM(t testing.TB, path, kind string, der []byte, pad int) {
	t.Helper()
	b := pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der})
	if pad > 0 {
		b = append(b, strings.Repeat("\n", pad-len(b))...)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// trusting is an HTTP client that trusts ca only.
func trusting(ca *testCA) *http.Client {
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// tlsServer runs kiln serve with a certificate of a fresh test CA and
// returns the CLI's environment (KILN_CA_CERT set), the CA and the
// certificate and key files the server reads.
func tlsServer(t testing.TB) (env map[string]string, ca *testCA, certFile, keyFile string) {
	t.Helper()
	ca = newTestCA(t, "kiln test CA")
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "kiln.crt"), filepath.Join(dir, "kiln.key")
	ca.issue(t, certFile, keyFile, 100, 4096)
	env, _ = liveServerAt(t, "https", trusting(ca), "--tls-cert", certFile, "--tls-key", keyFile)
	env["KILN_CA_CERT"] = ca.file
	return env, ca, certFile, keyFile
}

// TestTLSCLIAndApt: over https the CLI works with the CA from KILN_CA_CERT
// or --ca-cert and fails without it; apt-get trusts the CA through
// Acquire::https::CAInfo and refuses the server without it; TLS 1.1 is
// refused.
func TestTLSCLIAndApt(t *testing.T) {
	env, ca, _, _ := tlsServer(t)
	mustRun(t, env, "repo", "create", "stable")
	build := t.TempDir()
	want := writeDeb(t, build, debtest.Spec{Name: "myapp", Version: "1.0-1", Arch: "amd64"})
	mustRun(t, env, "repo", "add", "stable", build)
	mustRun(t, env, "publish", "create", "--prefix", "debian", "--distribution", "bookworm",
		"--component", "main=stable", "--arch", "amd64", "--sign", "none")

	untrusted := map[string]string{"KILN_URL": env["KILN_URL"], "KILN_TOKEN": env["KILN_TOKEN"]}
	code, _, stderr := runIn(context.Background(), untrusted, "repo", "list")
	if code != 1 || !strings.Contains(stderr, "certificate") || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("CLI without the CA: exit %d, %q", code, stderr)
	}
	mustRun(t, untrusted, "repo", "show", "stable", "--ca-cert", ca.file)
	other := newTestCA(t, "another CA")
	if code, _, stderr := runIn(context.Background(), untrusted, "repo", "list", "--ca-cert", other.file); code != 1 || !strings.Contains(stderr, "certificate") {
		t.Fatalf("CLI trusting another CA: exit %d, %q", code, stderr)
	}

	old := &tls.Config{RootCAs: trusting(ca).Transport.(*http.Transport).TLSClientConfig.RootCAs, MaxVersion: tls.VersionTLS11}
	if c, err := tls.Dial("tcp", strings.TrimPrefix(env["KILN_URL"], "https://"), old); err == nil {
		c.Close()
		t.Fatal("a TLS 1.1 handshake succeeded")
	}

	line := "deb [trusted=yes] " + env["KILN_URL"] + "/debian bookworm main"
	apt := apttest.New(t, line, nil, apttest.WithCAInfo(ca.file))
	if out, err := apt.Update(); err != nil {
		t.Fatalf("apt-get update over https: %v\n%s", err, out)
	}
	expectDownload(t, apt, "myapp", want)
	if out, err := apttest.New(t, line, nil, apttest.WithCAInfo(other.file)).Update(); err == nil {
		t.Fatalf("apt-get trusted a server its CA did not sign:\n%s", out)
	}
}

// TestTLSRegistryClients: skopeo (--dest-cert-dir with the CA) and crane
// (SSL_CERT_FILE) push and pull over https without any insecure flag, and
// fail without the CA.
func TestTLSRegistryClients(t *testing.T) {
	skopeo := clientBinary(t, "skopeo", "apt-get install skopeo")
	crane := clientBinary(t, "crane", "go install github.com/google/go-containerregistry/cmd/crane@v0.22.1")
	env, ca, _, _ := tlsServer(t)
	host := strings.TrimPrefix(env["KILN_URL"], "https://")
	creds := "ci:" + env["KILN_TOKEN"]
	certDir := t.TempDir()
	pemCA, _ := os.ReadFile(ca.file)
	os.WriteFile(filepath.Join(certDir, "ca.crt"), pemCA, 0o644)

	l := newLayout(t)
	img := l.image("amd64", 64<<10)
	l.tag(map[string]ociDesc{"latest": img})
	sk := newTool(t, skopeo)
	sk.must("copy", "--insecure-policy", "--preserve-digests", "--dest-creds", creds, "--dest-cert-dir", certDir,
		"oci:"+l.dir+":latest", "docker://"+host+"/myapp/web:1")
	if out, err := sk.run("inspect", "--creds", creds, "docker://"+host+"/myapp/web:1"); err == nil || !strings.Contains(out, "certificate") {
		t.Fatalf("skopeo without the CA: %v\n%s", err, out)
	}

	cr := newTool(t, crane)
	cr.env = []string{"SSL_CERT_FILE=" + ca.file}
	cr.must("auth", "login", host, "-u", "ci", "-p", env["KILN_TOKEN"])
	if d := strings.TrimSpace(cr.must("digest", host+"/myapp/web:1")); d != img.Digest {
		t.Fatalf("crane digest over https: %s, want %s", d, img.Digest)
	}
	cr.must("copy", host+"/myapp/web:1", host+"/myapp/web-prod:1")
	pulled := filepath.Join(t.TempDir(), "out")
	cr.must("pull", "--format", "oci", host+"/myapp/web-prod:1", pulled)
	top, blobs := readLayout(t, pulled)
	if top.Digest != img.Digest {
		t.Fatalf("crane pulled %s, pushed %s", top.Digest, img.Digest)
	}
	sameBlobs(t, l.blobs, blobs)
	cr.env = nil
	if out, err := cr.run("digest", host+"/myapp/web:1"); err == nil || !strings.Contains(out, "certificate") {
		t.Fatalf("crane without the CA: %v\n%s", err, out)
	}
}

// TestTLSCertReload: a certificate rewritten in place is served from the
// next connection on (the files are watched); one rewritten without a
// visible change (same size and time) is served after SIGHUP; a broken
// key keeps the certificate in use.
func TestTLSCertReload(t *testing.T) {
	env, ca, certFile, keyFile := tlsServer(t)
	hc := trusting(ca)
	serial := func() int64 {
		t.Helper()
		hc.CloseIdleConnections()
		resp, err := hc.Get(env["KILN_URL"] + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.TLS.PeerCertificates[0].SerialNumber.Int64()
	}
	waitSerial := func(want int64) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if serial() == want {
				return
			}
		}
		t.Fatalf("served serial %d, want %d", serial(), want)
	}
	if s := serial(); s != 100 {
		t.Fatalf("serial %d, want 100", s)
	}
	ca.issue(t, certFile, keyFile, 101, 4096)
	waitSerial(101)

	// A broken key: the server goes on with 101.
	os.WriteFile(keyFile, []byte("not a key\n"), 0o600)
	time.Sleep(1500 * time.Millisecond)
	if s := serial(); s != 101 {
		t.Fatalf("after a broken key the server serves %d, want 101", s)
	}

	// Same size, same modification time: only SIGHUP reloads.
	ca.issue(t, certFile, keyFile, 102, 4096)
	stamp := time.Now().Add(-time.Minute)
	os.Chtimes(certFile, stamp, stamp)
	os.Chtimes(keyFile, stamp, stamp)
	waitSerial(102) // the key changed size and time: the watcher saw it
	ca.issue(t, certFile, keyFile, 103, 4096)
	os.Chtimes(certFile, stamp, stamp)
	os.Chtimes(keyFile, stamp, stamp)
	time.Sleep(1500 * time.Millisecond)
	if s := serial(); s != 102 {
		t.Fatalf("an unnoticeable rewrite was reloaded without SIGHUP: %d", s)
	}
	// serve runs in this process and has SIGHUP in hand (signal.Notify).
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	waitSerial(103)
}

// TestTLSSettingErrors: half a TLS setting, or a file that is not a
// certificate, stops kiln serve with one line naming the setting.
func TestTLSSettingErrors(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.pem")
	os.WriteFile(junk, []byte("junk\n"), 0o600)
	for _, args := range [][]string{
		{"--tls-cert", junk},
		{"--tls-key", junk},
		{"--tls-cert", junk, "--tls-key", junk},
		{"--tls-cert", filepath.Join(dir, "missing.crt"), "--tls-key", junk},
	} {
		all := append([]string{"serve", "--data", filepath.Join(dir, "data"), "--listen", freeAddr(t)}, args...)
		code, _, stderr := runIn(context.Background(), nil, all...)
		if code != 1 || !strings.Contains(stderr, "tls-") || strings.Count(stderr, "\n") != 1 {
			t.Errorf("kiln %v: exit %d, %q", args, code, stderr)
		}
	}
}
