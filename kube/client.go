package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// ErrUnreachable is an API server that did not answer: no connection, no
// TLS handshake, or no reply in time. Nothing is known about the nodes.
var ErrUnreachable = errors.New("the Kubernetes API does not answer")

// ErrNoSuchNode is a node name the API does not know.
var ErrNoSuchNode = errors.New("no such node in the Kubernetes API")

// Client reads nodes from one API server.
type Client struct {
	kc   *Kubeconfig
	http *http.Client
}

// NewClient returns a client of the API server kc names; every request is
// bounded by timeout (0: 10 s). now is the clock certificates are verified
// at (nil: time.Now).
func NewClient(kc *Kubeconfig, timeout time.Duration, now func() time.Time) (*Client, error) {
	tc, err := kc.tlsConfig()
	if err != nil {
		return nil, err
	}
	tc.Time = now
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	tr := &http.Transport{TLSClientConfig: tc, Proxy: nil, DisableKeepAlives: true}
	return &Client{kc: kc, http: &http.Client{Transport: tr, Timeout: timeout}}, nil
}

// Server is the API server's URL.
func (c *Client) Server() string { return c.kc.Server.String() }

// Node is the part of a Kubernetes Node object k3sca reads.
type Node struct {
	Metadata struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	} `json:"metadata"`
	Status struct {
		Addresses []struct {
			Type    string `json:"type"`
			Address string `json:"address"`
		} `json:"addresses"`
		Conditions []Condition `json:"conditions"`
	} `json:"status"`
}

// Condition is one of a node's status conditions.
type Condition struct {
	Type    string `json:"type"`
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// Name is the node's name.
func (n *Node) Name() string { return n.Metadata.Name }

// InternalIP is the node's first InternalIP address, "" when it has none.
func (n *Node) InternalIP() string {
	for _, a := range n.Status.Addresses {
		if a.Type == "InternalIP" {
			return a.Address
		}
	}
	return ""
}

// Ready returns the node's Ready condition (ok false when it has none).
// The node is ready only when its Status is "True".
func (n *Node) Ready() (Condition, bool) {
	for _, c := range n.Status.Conditions {
		if c.Type == "Ready" {
			return c, true
		}
	}
	return Condition{}, false
}

// Node reads GET /api/v1/nodes/<name>.
func (c *Client) Node(ctx context.Context, name string) (*Node, error) {
	var n Node
	if err := c.get(ctx, "/api/v1/nodes/"+url.PathEscape(name), &n); err != nil {
		return nil, err
	}
	return &n, nil
}

// Nodes reads GET /api/v1/nodes.
func (c *Client) Nodes(ctx context.Context) ([]Node, error) {
	var list struct {
		Kind  string `json:"kind"`
		Items []Node `json:"items"`
	}
	if err := c.get(ctx, "/api/v1/nodes", &list); err != nil {
		return nil, err
	}
	if list.Kind != "NodeList" {
		return nil, fmt.Errorf("GET %s/api/v1/nodes: kind %q, want NodeList", c.Server(), list.Kind)
	}
	return list.Items, nil
}

// get decodes the JSON reply to GET path into v. A reply other than 200
// is an error with the API's status message.
func (c *Client) get(ctx context.Context, path string, v any) error {
	u := c.kc.Server.JoinPath(path)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w: %v", u, ErrUnreachable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("GET %s: %w: %v", u, ErrUnreachable, err)
	}
	if resp.StatusCode != http.StatusOK {
		var st struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(body, &st)
		err := fmt.Errorf("GET %s: %s: %s", u, resp.Status, st.Message)
		if resp.StatusCode == http.StatusNotFound {
			err = fmt.Errorf("%w: %w", ErrNoSuchNode, err)
		}
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	return nil
}
