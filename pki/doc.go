// Package pki is k3sca's certificate engine: the k3s file layout, PEM
// parsing as k3s does it, CA generation and cross-signing, the validation
// rules of k3s's rotate-ca handler, the join-token CA hash and certificate
// inspection. It does no datastore or terminal I/O.
package pki
