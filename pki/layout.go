package pki

import (
	"path/filepath"
	"sort"

	"github.com/k3sca/k3sca/product"
)

// FileKind tells what a bootstrap file holds.
type FileKind int

const (
	// KindCert is a PEM certificate bundle.
	KindCert FileKind = iota
	// KindKey is a PEM private key file.
	KindKey
	// KindOther is a credential file that is neither (passwd, ipsec.psk, encryption config).
	KindOther
)

// BootstrapField is one entry of k3s's ControlRuntimeBootstrap struct: the
// JSON key of the bootstrap data, its path under the server dir and whether
// rotate-ca may replace it.
type BootstrapField struct {
	// Name is the Go field name, also the JSON key in the bootstrap data.
	Name string
	// Path is the file path relative to the server dir, slash-separated.
	Path string
	// Kind says whether the file is a certificate, a key or another credential.
	Kind FileKind
	// Rotate is k3s's `rotate:"true"` struct tag.
	Rotate bool
	// SecretsEncryption marks the files that exist only with --secrets-encryption.
	SecretsEncryption bool
}

// Abs is the field's file under root (a server dir or a staged dir holding tls/).
func (f BootstrapField) Abs(root string) string {
	return filepath.Join(root, filepath.FromSlash(f.Path))
}

// BootstrapFields lists the bootstrap fields in k3s's struct order, the order
// in which rotate-ca validates them and reports errors.
var BootstrapFields = []BootstrapField{
	{Name: "ETCDServerCA", Path: "tls/etcd/server-ca.crt", Kind: KindCert, Rotate: true},
	{Name: "ETCDServerCAKey", Path: "tls/etcd/server-ca.key", Kind: KindKey, Rotate: true},
	{Name: "ETCDPeerCA", Path: "tls/etcd/peer-ca.crt", Kind: KindCert, Rotate: true},
	{Name: "ETCDPeerCAKey", Path: "tls/etcd/peer-ca.key", Kind: KindKey, Rotate: true},
	{Name: "ServerCA", Path: "tls/server-ca.crt", Kind: KindCert, Rotate: true},
	{Name: "ServerCAKey", Path: "tls/server-ca.key", Kind: KindKey, Rotate: true},
	{Name: "ClientCA", Path: "tls/client-ca.crt", Kind: KindCert, Rotate: true},
	{Name: "ClientCAKey", Path: "tls/client-ca.key", Kind: KindKey, Rotate: true},
	{Name: "ServiceKey", Path: "tls/service.key", Kind: KindKey, Rotate: true},
	{Name: "PasswdFile", Path: "cred/passwd", Kind: KindOther},
	{Name: "RequestHeaderCA", Path: "tls/request-header-ca.crt", Kind: KindCert, Rotate: true},
	{Name: "RequestHeaderCAKey", Path: "tls/request-header-ca.key", Kind: KindKey, Rotate: true},
	{Name: "IPSECKey", Path: "cred/ipsec.psk", Kind: KindOther},
	{Name: "EncryptionConfig", Path: "cred/encryption-config.json", Kind: KindOther, SecretsEncryption: true},
	{Name: "EncryptionHash", Path: "cred/encryption-state.json", Kind: KindOther, SecretsEncryption: true},
}

// Field returns the bootstrap field with the given name.
func Field(name string) (BootstrapField, bool) {
	for _, f := range BootstrapFields {
		if f.Name == name {
			return f, true
		}
	}
	return BootstrapField{}, false
}

// RotatableFields returns the 11 fields rotate-ca may replace, in struct order.
func RotatableFields() []BootstrapField {
	var out []BootstrapField
	for _, f := range BootstrapFields {
		if f.Rotate {
			out = append(out, f)
		}
	}
	return out
}

// FieldNamesSorted returns every bootstrap field name in the byte order that
// Go's JSON encoder uses for map keys.
func FieldNamesSorted() []string {
	names := make([]string, 0, len(BootstrapFields))
	for _, f := range BootstrapFields {
		names = append(names, f.Name)
	}
	sort.Strings(names)
	return names
}

// CAType names one of the five k3s certificate authorities.
type CAType struct {
	// Field is the bootstrap field of the cert bundle, e.g. "ServerCA".
	Field string
	// KeyField is the bootstrap field of the key, e.g. "ServerCAKey".
	KeyField string
	// Type is the name k3s's contrib scripts use: "server", "etcd/peer".
	Type string
	// ProgramPrefix is true when the CN carries the product prefix ("k3s-").
	ProgramPrefix bool
}

// CATypes lists the five CAs in the order of k3s's contrib scripts.
var CATypes = []CAType{
	{Field: "ClientCA", KeyField: "ClientCAKey", Type: "client", ProgramPrefix: true},
	{Field: "ServerCA", KeyField: "ServerCAKey", Type: "server", ProgramPrefix: true},
	{Field: "RequestHeaderCA", KeyField: "RequestHeaderCAKey", Type: "request-header", ProgramPrefix: true},
	{Field: "ETCDPeerCA", KeyField: "ETCDPeerCAKey", Type: "etcd/peer", ProgramPrefix: false},
	{Field: "ETCDServerCA", KeyField: "ETCDServerCAKey", Type: "etcd/server", ProgramPrefix: false},
}

// CAByField returns the CA whose cert field is name.
func CAByField(name string) (CAType, bool) {
	for _, c := range CATypes {
		if c.Field == name {
			return c, true
		}
	}
	return CAType{}, false
}

// CertField is the layout entry of the CA bundle.
func (c CAType) CertField() BootstrapField { f, _ := Field(c.Field); return f }

// KeyFieldInfo is the layout entry of the CA key.
func (c CAType) KeyFieldInfo() BootstrapField { f, _ := Field(c.KeyField); return f }

// DefaultCN is the CN k3s gives this CA at first start, without the "@<unix>" suffix:
// "k3s-server-ca", "etcd-peer-ca".
func (c CAType) DefaultCN(p product.Product) string {
	base := dashed(c.Type) + "-ca"
	if c.ProgramPrefix {
		return p.CAPrefix() + base
	}
	return base
}

// ScriptCN is the CN k3s's contrib scripts give this CA ("k3s-etcd-peer-ca"):
// always with the product prefix. suffix is "-ca" or "-root".
func (c CAType) ScriptCN(p product.Product, suffix string) string {
	return p.CAPrefix() + dashed(c.Type) + suffix
}

func dashed(s string) string {
	b := []byte(s)
	for i := range b {
		if b[i] == '/' {
			b[i] = '-'
		}
	}
	return string(b)
}

// Derived files k3s writes from the bootstrap files at every start; they are
// not in the bootstrap data.
var (
	// ClientCANoChain is the first cert of client-ca.crt.
	ClientCANoChain = "tls/client-ca.nochain.crt"
	// ServerCANoChain is the first cert of server-ca.crt.
	ServerCANoChain = "tls/server-ca.nochain.crt"
	// ServiceCurrentKey is the first key of service.key.
	ServiceCurrentKey = "tls/service.current.key"
	// DynamicCertRegenerate is the trigger file that makes k3s renew its listener cert.
	DynamicCertRegenerate = "tls/dynamic-cert-regenerate"
	// TokenFile is the server's full join token.
	TokenFile = "token"
	// DatastoreFile is the kine SQLite database.
	DatastoreFile = "db/state.db"
	// KineSocket is kine's unix socket when k3s runs on SQLite or external SQL.
	KineSocket = "kine.sock"
	// TLSDir is the directory rotate-ca's --path and the server dir both hold.
	TLSDir = "tls"
	// EtcdClientCert, EtcdClientKey: the embedded etcd client credentials.
	EtcdClientCert = "tls/etcd/client.crt"
	// EtcdClientKey is the key of EtcdClientCert.
	EtcdClientKey = "tls/etcd/client.key"
)

// DerivedFiles lists the files derived from bootstrap files, relative to the server dir.
func DerivedFiles() []string {
	return []string{ClientCANoChain, ServerCANoChain, ServiceCurrentKey}
}
