package cluster

import "errors"

// Errors of topology building; each is wrapped with the node, the group or
// the flag it is about.
var (
	// ErrEmptyInventory is an inventory with no hosts in its server group.
	ErrEmptyInventory = errors.New("empty inventory")
	// ErrNoServerGroup is an inventory without a server (or master) group.
	ErrNoServerGroup = errors.New("no server group")
	// ErrBothRoles is a host listed in both the server and the agent group.
	ErrBothRoles = errors.New("host is in both the server and the agent group")
	// ErrDuplicateNode is a node name given twice.
	ErrDuplicateNode = errors.New("duplicate node name")
	// ErrBadPort is a port that is not a number from 1 to 65535.
	ErrBadPort = errors.New("bad port")
	// ErrBadRole is a role other than server or agent.
	ErrBadRole = errors.New("bad role")
	// ErrBadDatastore is a datastore kind other than etcd, external or sqlite.
	ErrBadDatastore = errors.New("bad datastore")
	// ErrBadNodeFlag is a --node value that does not parse.
	ErrBadNodeFlag = errors.New("bad --node value")
	// ErrBadInventory is an inventory whose structure is not Ansible's.
	ErrBadInventory = errors.New("bad inventory")
	// ErrTemplated is an inventory value that is a Jinja template, which
	// only Ansible can evaluate.
	ErrTemplated = errors.New("value is a Jinja template")
	// ErrUnknownNode is a node name the topology does not have.
	ErrUnknownNode = errors.New("unknown node")
	// ErrRoleMismatch is a node whose probe contradicts its declared role.
	ErrRoleMismatch = errors.New("node runs another role than declared")
	// ErrBadHash is a CA hash that is not 64 hex characters.
	ErrBadHash = errors.New("bad CA hash")
	// ErrConflictingTokens is a node that keeps two different secrets for
	// the same purpose; see ConflictError.
	ErrConflictingTokens = errors.New("conflicting tokens")
)

// ErrUnreadable is a token value k3sca cannot read without running a
// shell: it uses $ or ` expansion.
var ErrUnreadable = errors.New("value not readable")
