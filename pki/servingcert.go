package pki

import (
	"crypto/x509"
	"fmt"
	"time"
)

// ServingCertCN is the subject CN (and O) of the supervisor listener's
// serving certificate on 6443, issued by dynamiclistener (spec §6.2).
const ServingCertCN = "k3s"

// ServingCertSANs are the names the listener's certificate always carries.
var ServingCertSANs = []string{"localhost", "127.0.0.1", "::1", "kubernetes", "kubernetes.default",
	"kubernetes.default.svc", "kubernetes.default.svc." + defaultClusterDomain, defaultAPIServerServiceIP}

// IssueServingCert issues the supervisor listener's serving certificate
// from the current server CA in serverDir/tls: CN and O "k3s", EKU server,
// 365 days from max(now-1h, CA NotBefore), a new P-256 key. certPEM is the
// leaf followed by the first certificate of the server CA bundle.
func IssueServingCert(opts GenOptions, serverDir string) (certPEM, keyPEM []byte, err error) {
	g, err := opts.resolve()
	if err != nil {
		return nil, nil, err
	}
	serverCA, _ := CAByField("ServerCA")
	ca, err := loadServerCA(serverDir, serverCA)
	if err != nil {
		return nil, nil, fmt.Errorf("serving certificate: %w", err)
	}
	nb := g.leafNotBefore(ca.pair.cert)
	dns, ips := g.sanList(sanServing)
	spec := certSpec{cn: ServingCertCN, orgs: []string{ServingCertCN}, notBefore: nb, validity: LeafValidity,
		eku: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, dns: dns, ips: ips}
	pair, err := g.newPair(KeyECDSAP256, spec, &ca.pair)
	if err != nil {
		return nil, nil, fmt.Errorf("serving certificate: %w", err)
	}
	keyPEM, err = EncodeKey(pair.key)
	if err != nil {
		return nil, nil, err
	}
	return append(EncodeCert(pair.cert), EncodeCert(ca.pair.cert)...), keyPEM, nil
}

// ServingCertNeedsRenewal is dynamiclistener's rule at start: renew when
// the certificate is within the renewal window of its expiry (120 days).
func ServingCertNeedsRenewal(cert *x509.Certificate, now time.Time) bool {
	return cert.NotAfter.Sub(now) <= DefaultRenewWindow
}

// DynamicCertCache is dynamiclistener's file cache of the listener's
// serving certificate, relative to the server dir; k3s also keeps it in the
// secret kube-system/k3s-serving.
const DynamicCertCache = "tls/dynamic-cert.json"
