package cluster

import (
	"strings"
	"testing"
)

func wordsOf(ws []word) string {
	var s []string
	for _, w := range ws {
		v := string(w.b)
		if w.dynamic {
			v += "(dyn)"
		}
		s = append(s, "<"+v+">")
	}
	return strings.Join(s, " ")
}

func TestSplitCommand(t *testing.T) {
	tests := []struct {
		in   string
		q    quoting
		want string
	}{
		{"a b\tc", shellQuoting, "<a> <b> <c>"},
		{"a 'b c' \"d e\"", shellQuoting, "<a> <b c> <d e>"},
		{`a "x\"y" 'x\y' x\ y`, shellQuoting, `<a> <x"y> <x\y> <x y>`},
		{"a \\\n  b", shellQuoting, "<a> <b>"},
		{"ab\\\ncd", shellQuoting, "<abcd>"},
		{"a # comment\nb", shellQuoting, "<a>"},
		{"a; b", shellQuoting, "<a>"},
		{"a $HOME `x` \"$y\" '$z'", shellQuoting, "<a> <$HOME(dyn)> <`x`(dyn)> <$y(dyn)> <$z>"},
		{"a\r\nb", shellQuoting, "<a>"},
		{"k3s \\\n    server \\\n\t'--token' \\\n", systemdQuoting, "<k3s> <server> <--token>"},
		{"ab\\\ncd", systemdQuoting, "<ab> <cd>"},
		{"a #b", systemdQuoting, "<a> <#b>"},
		{`a "x\ty"`, systemdQuoting, "<a> <xty(dyn)>"},
		{"a ${X}", systemdQuoting, "<a> <${X}(dyn)>"},
	}
	for _, tc := range tests {
		b := []byte(tc.in)
		got, _ := splitCommand(rawText(b, 0, len(b)), 0, tc.q)
		if wordsOf(got) != tc.want {
			t.Errorf("splitCommand(%q) = %s, want %s", tc.in, wordsOf(got), tc.want)
		}
	}
}

func TestWordOffsets(t *testing.T) {
	file := []byte(`x '--token' 'K10abc::s:p' "q"`)
	ws, _ := splitCommand(rawText(file, 0, len(file)), 0, shellQuoting)
	if len(ws) != 4 {
		t.Fatalf("words %s", wordsOf(ws))
	}
	tok := ws[2]
	if !tok.literal(file, 0, len(tok.b)) {
		t.Error("quoted token not literal")
	}
	if s, e := tok.span(); string(file[s:e]) != "K10abc::s:p" {
		t.Errorf("span %q", file[s:e])
	}
	split := []byte(`K10ab"cd"::s:p`)
	ws, _ = splitCommand(rawText(split, 0, len(split)), 0, shellQuoting)
	if string(ws[0].b) != "K10abcd::s:p" || ws[0].literal(split, 0, 7) {
		t.Errorf("a quote inside the hash must not be literal: %s", wordsOf(ws))
	}
	if !ws[0].literal(split, 0, 5) {
		t.Error("prefix before the quote is literal")
	}
}

func TestParseAssignments(t *testing.T) {
	tests := []struct {
		in   string
		q    quoting
		want string
	}{
		{"A=1\nexport B='2 3'\n# C=4\nD=\"5\" E=6 cmd F=7\n", shellQuoting, "A=1 B=2 3 D=5 E=6"},
		{"command_args=\"server \\\n\t'--token' \\\n\t'x'\"\n", shellQuoting, "command_args=server \t'--token' \t'x'"},
		{"A=1\n; B=2\n# C=3\n D = \"4\" \nexport E=5\nF=a b\nG=x\\\ny\n7X=1\n", systemdQuoting, "A=1 D=4 E=5 F=a b G=x y"},
		{"A=1\r\nB='2'\r\n", systemdQuoting, "A=1 B=2"},
	}
	for _, tc := range tests {
		var got []string
		for _, a := range parseAssignments([]byte(tc.in), tc.q) {
			got = append(got, a.name+"="+string(a.value.b))
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("parseAssignments(%q) = %q, want %q", tc.in, strings.Join(got, " "), tc.want)
		}
	}
}

func TestParseUnit(t *testing.T) {
	unit := []byte(`[Unit]
ExecStart=/not/a/service
[Service]
; comment
Environment="K3S_A=1" K3S_B=2
EnvironmentFile=-/etc/default/%N
EnvironmentFile=/etc/%n.env
EnvironmentFile=/etc/%i.env
EnvironmentFile=relative.env
ExecStart=-/usr/local/bin/k3s \
    server \
	'--token=x y' \

ExecStart=
ExecStart=/usr/local/bin/k3s agent -t z
`)
	e := parseUnit(unit)
	cmds := unitCommands(e)
	if len(cmds) != 1 || wordsOf(cmds[0].argv) != "</usr/local/bin/k3s> <agent> <-t> <z>" {
		t.Errorf("ExecStart after reset: %+v", cmds)
	}
	var env []string
	for _, a := range unitEnvironment(e) {
		env = append(env, a.name+"="+string(a.value.b))
	}
	if strings.Join(env, " ") != "K3S_A=1 K3S_B=2" {
		t.Errorf("Environment %q", env)
	}
	files := unitEnvironmentFiles(e, "/etc/systemd/system/k3s-agent.service")
	if strings.Join(files, " ") != "/etc/default/k3s-agent /etc/k3s-agent.service.env" {
		t.Errorf("EnvironmentFile %q", files)
	}
	first := parseUnit(unit[:strings.Index(string(unit), "ExecStart=\n")])
	c := unitCommands(first)
	if len(c) != 1 || wordsOf(c[0].argv) != "</usr/local/bin/k3s> <server> <--token=x y>" || c[0].line != 10 {
		t.Errorf("continued ExecStart: %s line %d", wordsOf(c[0].argv), c[0].line)
	}
}

func TestScanArgs(t *testing.T) {
	line := []byte("k3s server -t a --token=b -token c --t=d --token-file /f --agent-token e --agent-token-file=/g " +
		"--config /c.yaml -c=/d.yaml --datastore-endpoint x --cluster-init --data-dir /dd -d=/ee --other --token")
	ws, _ := splitCommand(rawText(line, 0, len(line)), 0, systemdQuoting)
	sub, hits := scanArgs(line, ws)
	if sub != "server" {
		t.Errorf("sub %q", sub)
	}
	var got []string
	for _, h := range hits {
		got = append(got, h.name+"("+h.written+")="+string(h.value.b))
	}
	want := "token(-t)=a token(--token)=b token(-token)=c token(--t)=d token-file(--token-file)=/f agent-token(--agent-token)=e " +
		"agent-token-file(--agent-token-file)=/g config(--config)=/c.yaml config(-c)=/d.yaml datastore-endpoint(--datastore-endpoint)=x " +
		"cluster-init(--cluster-init)=true data-dir(--data-dir)=/dd data-dir(-d)=/ee"
	if strings.Join(got, " ") != want {
		t.Errorf("hits\n%s\nwant\n%s", strings.Join(got, " "), want)
	}
	if sub, _ := scanArgs(line, ws[:1]); sub != "" {
		t.Errorf("no subcommand: %q", sub)
	}
}

func TestParseConfig(t *testing.T) {
	file := []byte("# c\ntoken: \"K10x::s:p\"  # note\nt: 'abc'\nagent-token: plain\nblock: |\n  text\ntoken+: appended\nlist:\n  - a\n  - b\nné: x\nk: é-then-token\n")
	entries, err := parseConfig(file)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		raw := "-"
		if e.raw.b != nil {
			s, end := e.raw.span()
			raw = string(file[s:end])
		}
		got = append(got, e.key+"="+e.value+"@"+raw)
	}
	want := "token=K10x::s:p@K10x::s:p t=abc@abc agent-token=plain@plain block=text\n@- token=appended@appended list=a@a list=b@b né=x@x k=é-then-token@é-then-token"
	if strings.Join(got, " ") != want {
		t.Errorf("entries\n%q\nwant\n%q", strings.Join(got, " "), want)
	}
	for _, bad := range []string{"- a\n- b\n", "a: [\n"} {
		if _, err := parseConfig([]byte(bad)); err == nil {
			t.Errorf("parseConfig(%q): no error", bad)
		}
	}
	if e, err := parseConfig([]byte("# only comments\n")); err != nil || len(e) != 0 {
		t.Errorf("comment-only config: %v, %v", e, err)
	}
}
