package pki

import (
	"context"
	"math/big"
)

// GenerateDefaultCAs stages what k3s creates at first start (spec 6.1): the
// five self-signed CAs with k3s's CNs ("k3s-client-ca@<unix>",
// "etcd-peer-ca@<unix>"), serial 0, NotBefore now-1h, 3650 days, KeyUsage
// DigitalSignature|KeyEncipherment|CertSign, a Go-generated SKI and no AKI,
// each as a single PEM; and a new tls/service.key. The six keys are
// generated concurrently, then the CAs are signed in CATypes order.
func GenerateDefaultCAs(opts GenOptions) (*StagedSet, error) {
	g, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	reqs := make([]keyReq, 0, len(CATypes)+1)
	for _, ca := range CATypes {
		reqs = append(reqs, keyReq{label: ca.Type + " CA", typ: g.caKey})
	}
	keys, err := genKeys(context.Background(), append(reqs, g.serviceKeyReq()))
	if err != nil {
		return nil, err
	}
	set := &StagedSet{Kind: "default-ca"}
	for i, ca := range CATypes {
		spec := certSpec{
			cn:        ca.DefaultCN(g.p) + g.ts(),
			serial:    big.NewInt(0),
			notBefore: g.now.Add(-genBackdate),
			validity:  DefaultCAValidity,
			isCA:      true,
		}
		pair, err := g.pairFor(keys[i], spec, nil)
		if err != nil {
			return nil, err
		}
		set.addCerts(ca.CertField().Path, "self-signed "+ca.Type+" CA", pair.cert)
		if err := set.addKeys(ca.KeyFieldInfo().Path, ca.Type+" CA key ("+string(g.caKey)+")", pair.key); err != nil {
			return nil, err
		}
	}
	if err := g.stageServiceKey(set, keys[len(CATypes)], nil); err != nil {
		return nil, err
	}
	return set, nil
}
