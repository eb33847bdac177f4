package k3sver

// Table is the one list of the k3s versions that matter to what k3sca
// does. Each row names its source (the k3s issue or release note), the
// versions it affects, the operations and datastore path it bears on, and
// what k3sca does: refuse the flow before its first step, warn, or note a
// fact. rke2 releases are matched by their Kubernetes version: rke2's
// release of a month carries that month's k3s.
var Table = []Row{
	{
		// k3s release notes of v1.26.2+k3s1, v1.25.7+k3s1, v1.24.11+k3s1
		// and v1.23.17+k3s1 (2023-02): `k3s certificate rotate-ca` and
		// support for CA certificates signed by another CA.
		ID: "no-ca-rotation", Source: "k3s 2023-02 release notes (v1.26.2+k3s1)",
		Affects: caRotationReleases,
		Ops:     []Op{OpCARotation, OpCustomCA},
		Action:  Refuse,
		Says: "k3s %s predates CA rotation: `k3s certificate rotate-ca` (the endpoint --via server uses) and CA certificates " +
			"signed by another CA (custom, intermediate or cross-signed) arrived in the 2023-02 releases " +
			"(v1.26.2+k3s1, v1.25.7+k3s1, v1.24.11+k3s1, v1.23.17+k3s1); this k3s does not support the set this flow loads. Upgrade k3s first",
	},
	{
		// k3s-io/k3s#7774 "Unable to rotate CA certificates with custom
		// data-dir", fixed in the 2023-07 releases (v1.27.4+k3s1,
		// v1.26.7+k3s1, v1.25.12+k3s1; the 1.24 backport k3s-io/k3s#7907
		// was validated after v1.24.15, so v1.24.16+k3s1).
		ID: "rotate-ca-data-dir", Source: "k3s-io/k3s#7774",
		Affects: Match{Before: []string{"v1.24.16+k3s1", "v1.25.12+k3s1", "v1.26.7+k3s1", "v1.27.4+k3s1"}},
		Ops:     []Op{OpCARotation, OpCustomCA}, Path: PathServer, CustomDataDir: true,
		Action: Warn,
		Says: "k3s %s's own `k3s certificate rotate-ca` ignores --data-dir (k3s#7774, fixed in the 2023-07 releases): " +
			"k3sca sends the set itself with this data dir's token, so its load is not affected; if you run k3s's command " +
			"yourself on this node, give it --token too",
	},
	{
		// k3s-io/k3s#11014 "K3s fails to start after running k3s
		// certificate rotate-ca", a regression of k3s-io/k3s#10710 in the
		// 2024-09 releases; fixed in the 2024-10 releases v1.31.2+k3s1,
		// v1.30.6+k3s1, v1.29.10+k3s1, v1.28.15+k3s1 (release dates on
		// docs.k3s.io/release-notes: v1.30.6 and v1.29.10 on 2024-10-26).
		ID: "restart-creds-newer", Source: "k3s-io/k3s#11014",
		Affects: credsNewerReleases,
		Ops:     []Op{OpCARotation, OpCustomCA}, Path: PathServer,
		Action: Refuse,
		Says: "k3s %s's rotate-ca handler stores a set this k3s refuses at its next start: it exits with " +
			"`cred/ipsec.psk, cred/passwd newer than datastore` (k3s#11014, fixed in the 2024-10 releases v1.31.2+k3s1, " +
			"v1.30.6+k3s1, v1.29.10+k3s1, v1.28.15+k3s1). Load with k3s stopped instead (--via sqlite or --via etcd), or upgrade k3s",
	},
	{
		// The same k3s-io/k3s#11014, on k3sca's direct write.
		ID: "restart-creds-newer-direct", Source: "k3s-io/k3s#11014",
		Affects: credsNewerReleases,
		Ops:     []Op{OpCARotation, OpCustomCA}, Path: PathDirect,
		Action: Note,
		Says: "k3s %s exits at restart after its own rotate-ca (k3s#11014) because the cred files on disk are newer than " +
			"the stored set; k3sca's direct write stamps every entry with the load time, so that check passes",
	},
	{
		// The same 2023-02 release notes, for the other servers of a
		// rollout: a server of a k3s that predates CA rotation is not one
		// k3s supports restarting onto a rotated CA set. Agents only
		// check /cacerts against their token's hash, which every version
		// does: they are not refused.
		ID: "rollout-no-ca-rotation", Source: "k3s 2023-02 release notes (v1.26.2+k3s1)",
		Affects: caRotationReleases,
		Ops:     []Op{OpRollout}, ServersOnly: true,
		Action: Refuse,
		Says: "this server runs k3s %s, which predates CA rotation (`k3s certificate rotate-ca` and CA certificates signed " +
			"by another CA arrived in the 2023-02 releases v1.26.2+k3s1, v1.25.7+k3s1, v1.24.11+k3s1, v1.23.17+k3s1): k3s does " +
			"not support restarting it onto a rotated CA set. Upgrade k3s on it first",
	},
	{
		// The same k3s-io/k3s#11014, for the other servers of a rollout:
		// the handler of those releases stores entries that a server's
		// start-up reconcile finds older than its cred files. The version
		// of the node is a proxy for the handler's (the cluster's servers
		// run one release); a direct write is not affected.
		ID: "rollout-restart-creds-newer", Source: "k3s-io/k3s#11014",
		Affects: credsNewerReleases,
		Ops:     []Op{OpRollout}, ServersOnly: true,
		Action: Warn,
		Says: "this server runs k3s %s, whose rotate-ca handler stores entries older than the cred files on disk (k3s#11014, " +
			"fixed in the 2024-10 releases): if the cluster's set was loaded by that handler (`k3s certificate rotate-ca` or " +
			"--via server), this server exits at its restart with `cred/ipsec.psk, cred/passwd newer than datastore`; a set " +
			"loaded by k3sca's direct write (every entry stamped with the load time) is not affected",
	},
	{
		// k3s-io/k3s#10689 "Failure to read certificates and key files
		// during k3s certificate rotate-ca" (backports k3s-io/k3s#10743
		// for 1.29, #10744 for 1.28), in the 2024-08 releases.
		ID: "staged-files-unreadable", Source: "k3s-io/k3s#10689",
		Affects: Match{Exactly: []string{"v1.28.13+k3s1", "v1.29.8+k3s1"}},
		Ops:     []Op{OpCARotation, OpCustomCA}, Path: PathServer,
		Action: Refuse,
		Says: "k3s %s's rotate-ca handler cannot read the staged certificate and key files (k3s#10689): --via server " +
			"would fail. Load with k3s stopped instead (--via sqlite or --via etcd), or upgrade k3s to a 2024-10 release " +
			"(v1.29.10+k3s1, v1.28.15+k3s1; the 2024-09 ones have k3s#11014)",
	},
	{
		// k3s-io/k3s#13006 "CA cert rotation does not trigger immediate
		// update to dynamiclistener cert", backports k3s-io/k3s#13007
		// (1.34), #13008 (1.33), #13009 (1.32), #13010 (1.31), validated
		// on 2025-10-14, so in the 2025-10 release cycle. v1.31.14+k3s1
		// (2025-11-20) is the first 1.31 release after it
		// (docs.k3s.io/release-notes/v1.31.X: v1.31.13+k3s1 is of
		// 2025-09-22). For 1.32 to 1.34 the boundary is taken as the next
		// patch after each line's 2025-09 release (v1.33.5+k3s1 was stable
		// on 2025-10-02, k3s-io/k3s#13017), not read from their release
		// notes. A wrong boundary changes only this note: k3sca verifies
		// the listener after every restart either way.
		ID: "listener-old-cert", Source: "k3s-io/k3s#13006",
		Affects: Match{Before: []string{"v1.31.14+k3s1", "v1.32.10+k3s1", "v1.33.6+k3s1", "v1.34.2+k3s1"}},
		Ops:     []Op{OpCARotation, OpCustomCA, OpRollout},
		Action:  Note,
		Says: "k3s %s keeps the 6443 listener's old certificate after a CA rotation until its first use (k3s#13006, fixed " +
			"in the 2025-10 releases): k3sca writes the listener's regenerate trigger with the load and, after the restart, " +
			"waits until /cacerts serves the new CA and the serving certificate on 6443 chains to it",
	},
	{
		// k3s-io/k3s#12232 "Update certification renew alert to 120 days"
		// (issue k3s-io/k3s#12171); the version gate in k3s-io/docs#424:
		// "Prior to the May 2025 releases: v1.33.1+k3s1, v1.32.5+k3s1,
		// v1.31.9+k3s1, v1.30.13+k3s1, the 120 days windows was 90 days".
		ID: "renew-window-90", Source: "k3s-io/k3s#12232",
		Affects: Match{Before: []string{"v1.30.13+k3s1", "v1.31.9+k3s1", "v1.32.5+k3s1", "v1.33.1+k3s1"}},
		Ops:     []Op{OpCheck, OpLeafRotation},
		Action:  Note, RenewDays: 90,
		Says: "k3s %s renews leaf certificates within 90 days of expiry (120 from the 2025-05 releases v1.33.1+k3s1, " +
			"v1.32.5+k3s1, v1.31.9+k3s1, v1.30.13+k3s1; k3s#12232): the check takes 90 days unless --renew-days is given",
	},
}

// caRotationReleases are the versions before the 2023-02 releases, which
// brought `k3s certificate rotate-ca` and CAs signed by another CA.
var caRotationReleases = Match{Before: []string{"v1.23.17+k3s1", "v1.24.11+k3s1", "v1.25.7+k3s1", "v1.26.2+k3s1"}}

// credsNewerReleases are the 2024-09 releases of k3s-io/k3s#11014.
var credsNewerReleases = Match{Exactly: []string{"v1.28.14+k3s1", "v1.29.9+k3s1", "v1.30.5+k3s1", "v1.31.1+k3s1"}}

// NewestLine is the newest minor line the table was written against: the
// stable channel was v1.36.3+k3s1 when the compatibility spec was read
// (k3s master 866d743e, 2026-08-12). A newer line is matched by no row.
const NewestLine = "v1.36"
