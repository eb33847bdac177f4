// Package kube reads the little k3sca needs from a cluster's Kubernetes
// API: its nodes (name, labels, InternalIP, the Ready condition). It speaks
// plain HTTPS with net/http and encoding/json, authenticated by the client
// certificate of an admin kubeconfig (k3s writes one to
// /etc/rancher/<product>/k3s.yaml), and verifies the API server against the
// kubeconfig's CA; it has no client-go. It holds k3sca's one kubeconfig
// parser (ParseFile; ParseKubeconfig for a client), which pki uses to list
// the certificates a kubeconfig embeds. It imports no k3sca package.
package kube
