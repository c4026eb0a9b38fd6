package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/planbot/planbot/errtest"
)

func TestParseServerWeb(t *testing.T) {
	base := []string{"--github-app-id=7", "--github-app-key-file=/k.pem", "--webhook-secret-file=/s"}
	page := append([]string{"--github-client-id=Iv1.abc", "--github-client-secret-file=/c", "--external-url=https://planbot.example.com"}, base...)
	tests := []struct {
		name        string
		args        []string
		env         map[string]string
		wantErr     string
		wantEnabled bool
	}{
		{name: "off without a client id", args: base},
		{name: "on with the OAuth client", args: page, wantEnabled: true},
		{name: "env twins", args: base, env: map[string]string{"PLANBOT_GITHUB_CLIENT_ID": "Iv1.x", "PLANBOT_GITHUB_CLIENT_SECRET_FILE": "/c", "PLANBOT_EXTERNAL_URL": "http://localhost:8080"}, wantEnabled: true},
		{name: "off by flag", args: append([]string{"--ui=off"}, page...)},
		{name: "ui neither on nor off", args: append([]string{"--ui=yes"}, base...), wantErr: "--ui must be on or off"},
		{name: "client id needs the secret", args: append([]string{"--github-client-id=Iv1.abc", "--external-url=https://p.example.com"}, base...), wantErr: "--github-client-secret-file"},
		{name: "client id needs the external URL", args: append([]string{"--github-client-id=Iv1.abc", "--github-client-secret-file=/c"}, base...), wantErr: "--external-url is required"},
		{name: "external URL not a URL", args: append(append([]string{}, page...), "--external-url=planbot.example.com"), wantErr: "--external-url must be an http(s) URL"},
		{name: "external URL without the page", args: append([]string{"--external-url=https://p.example.com"}, base...), wantErr: "needs --github-client-id"},
		{name: "ui addr same as addr", args: append([]string{"--addr=:8080", "--ui-addr=:8080"}, page...), wantErr: "--ui-addr must differ"},
		{name: "web URL", args: append([]string{"--github-web-url=ftp://x"}, page...), wantErr: "--github-web-url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := ParseServer(tt.args, env(tt.env))
			if errtest.Want(t, err, tt.wantErr) {
				return
			}
			if o.Web.Enabled() != tt.wantEnabled {
				t.Errorf("Enabled = %v, want %v (%+v)", o.Web.Enabled(), tt.wantEnabled, o.Web)
			}
		})
	}
}

func TestLoadClientSecret(t *testing.T) {
	f := filepath.Join(t.TempDir(), "c")
	os.WriteFile(f, []byte("s3cret\n"), 0o600)
	w := Web{UI: "on", ClientID: "x", ClientSecretFile: f}
	if b, err := w.LoadClientSecret(); err != nil || string(b) != "s3cret" {
		t.Errorf("LoadClientSecret = %q, %v", b, err)
	}
	os.WriteFile(f, []byte("\n"), 0o600)
	if _, err := w.LoadClientSecret(); err == nil {
		t.Error("an empty secret file was accepted")
	}
	if b, err := (Web{UI: "off", ClientID: "x", ClientSecretFile: "/nope"}).LoadClientSecret(); b != nil || err != nil {
		t.Errorf("off: %q, %v; want nothing read", b, err)
	}
}
