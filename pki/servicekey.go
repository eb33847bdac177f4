package pki

import (
	"bytes"
	"context"
	"crypto"
	"fmt"
)

// ServiceKeyPath is the service-account key file, relative to the server dir.
const ServiceKeyPath = "tls/service.key"

// GenerateServiceKeyRotation stages only tls/service.key: a new key of
// opts.ServiceKeyType first, then every key of currentServiceKey, which must
// parse with ParsePrivateKeys. k3s signs with the first key and still accepts
// tokens signed by the others.
func GenerateServiceKeyRotation(ctx context.Context, opts GenOptions, currentServiceKey []byte) (*StagedSet, error) {
	g, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if _, err := ParsePrivateKeys(currentServiceKey); err != nil {
		return nil, fmt.Errorf("current service key: %w", err)
	}
	keys, err := genKeys(ctx, []keyReq{g.serviceKeyReq()})
	if err != nil {
		return nil, err
	}
	set := &StagedSet{Kind: "service-key"}
	if err := g.stageServiceKey(set, keys[0], currentServiceKey); err != nil {
		return nil, err
	}
	set.Notes = append(set.Notes, "The new key signs service-account tokens after the restart; tokens signed by the old keys stay valid while those keys remain in service.key.")
	return set, nil
}

// serviceKeyReq is the new service-account key of a set.
func (g *genCtx) serviceKeyReq() keyReq { return keyReq{label: "service key", typ: g.svcKey} }

// checkCurrentServiceKey refuses a current service.key that does not
// parse, before any key is generated; empty is no current key.
func checkCurrentServiceKey(current []byte) error {
	if len(current) == 0 {
		return nil
	}
	if _, err := ParsePrivateKeys(current); err != nil {
		return fmt.Errorf("current service key: %w", err)
	}
	return nil
}

// stageServiceKey adds tls/service.key: the new key, then current appended
// the way the contrib scripts do (a newline is added when current lacks one).
func (g *genCtx) stageServiceKey(set *StagedSet, key crypto.Signer, current []byte) error {
	if err := checkCurrentServiceKey(current); err != nil {
		return err
	}
	data, err := EncodeKey(key)
	if err != nil {
		return fmt.Errorf("service key: %w", err)
	}
	purpose := "service-account signing key (" + string(g.svcKey) + ")"
	if len(current) > 0 {
		data = append(data, current...)
		if !bytes.HasSuffix(current, []byte("\n")) {
			data = append(data, '\n')
		}
		purpose += ", followed by the current keys"
	}
	set.addSecret(ServiceKeyPath, purpose, data)
	return nil
}
