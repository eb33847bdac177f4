package rollout

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"path"
	"time"

	"github.com/k3sca/k3sca/cluster"
	"github.com/k3sca/k3sca/datastore/etcdrpc"
)

// EtcdHealth checks a server's embedded etcd member as `etcdctl endpoint
// health` does, with the etcd client certificate k3s keeps on the server
// (<data-dir>/server/tls/etcd/client.{crt,key}, verified against
// server-ca.crt): the member answers its status with no errors and knows a
// leader, a linearizable read through it succeeds, and no alarm is raised
// on it. It applies to servers whose probe shows embedded etcd. A member
// that does not answer fails the check (retried until the restart's
// timeout) rather than being "not checked": restarting the next etcd
// server while this member is not back risks the quorum (rke2#7629).
type EtcdHealth struct {
	// Host reads the server's certificates.
	Host Host
	// Endpoint is the member's client URL, https://<address>:2379.
	Endpoint string
	// Timeout bounds one check (0: 5 s); Now is the clock the member's
	// certificate is verified at (nil: time.Now).
	Timeout time.Duration
	Now     func() time.Time
}

// Name implements Verifier.
func (e EtcdHealth) Name() string { return "etcd member health" }

// Verify implements Verifier.
func (e EtcdHealth) Verify(ctx context.Context, probe *cluster.ProbeResult) error {
	switch probe.Datastore.Value {
	case cluster.DatastoreEtcd:
	case cluster.DatastoreUnknown:
		return notChecked("the datastore is unknown: %s", probe.Datastore.Source)
	default:
		return ErrNotApplicable
	}
	tc, err := e.tlsConfig(ctx, probe.DataDir.Value)
	if err != nil {
		return err
	}
	timeout := e.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cli, err := etcdrpc.New(e.Endpoint, tc)
	if err != nil {
		return fmt.Errorf("etcd %s does not answer: %v", e.Endpoint, err)
	}
	defer cli.Close()
	st, err := cli.Status(ctx)
	if err != nil {
		return fmt.Errorf("etcd %s does not answer: %v", e.Endpoint, err)
	}
	id := st.Header.MemberID
	if len(st.Errors) > 0 {
		return fmt.Errorf("etcd member %x reports %v", id, st.Errors)
	}
	if st.Leader == 0 {
		return fmt.Errorf("etcd member %x has no leader", id)
	}
	// As etcdctl endpoint health: a member with auth enabled refuses the
	// read with permission denied, which still proves it serves reads.
	if _, err := cli.Range(ctx, etcdrpc.RangeRequest{Key: []byte("health")}); err != nil && etcdrpc.CodeOf(err) != etcdrpc.PermissionDenied {
		return fmt.Errorf("etcd member %x: a linearizable read fails: %v", id, err)
	}
	alarms, err := cli.AlarmList(ctx)
	if err != nil {
		return fmt.Errorf("etcd member %x: list alarms: %v", id, err)
	}
	for _, a := range alarms.Alarms {
		if a.MemberID == id {
			return fmt.Errorf("etcd member %x has the alarm %s", a.MemberID, a.Alarm)
		}
	}
	return nil
}

// tlsConfig is the etcd client's TLS from the server's files.
func (e EtcdHealth) tlsConfig(ctx context.Context, dataDir string) (*tls.Config, error) {
	dir := path.Join(dataDir, "server", "tls", "etcd")
	read := map[string][]byte{}
	for _, name := range []string{"server-ca.crt", "client.crt", "client.key"} {
		b, err := e.Host.ReadFile(ctx, path.Join(dir, name))
		if err != nil {
			return nil, notChecked("the etcd client certificate: %v", err)
		}
		read[name] = b
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(read["server-ca.crt"]) {
		return nil, notChecked("%s holds no PEM certificate", path.Join(dir, "server-ca.crt"))
	}
	pair, err := tls.X509KeyPair(read["client.crt"], read["client.key"])
	if err != nil {
		return nil, notChecked("%s and client.key do not make a pair", path.Join(dir, "client.crt"))
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool, Certificates: []tls.Certificate{pair}, Time: e.Now}, nil
}
