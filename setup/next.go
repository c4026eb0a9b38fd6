package setup

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
)

func toJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// printNext tells the user where the secrets are and how to start planbot
// with them: the `planbot server` command and the same as an environment
// file, with the web page's login when GitHub returned the App's client
// id and secret. It prints paths, never the secrets.
func printNext(w io.Writer, o Options, app App) {
	abs := func(name string) string {
		p := filepath.Join(o.Dir, name)
		if a, err := filepath.Abs(p); err == nil {
			return a
		}
		return p
	}
	key, secret, client := abs(KeyFile), abs(WebhookSecretFile), abs(ClientSecretFile)
	owner := app.Owner
	if owner == "" {
		owner = "your account"
	}
	fmt.Fprintf(w, "\nCreated the GitHub App %q (id %d, slug %s) for %s.\n", app.Name, app.ID, app.Slug, owner)
	fmt.Fprintf(w, "Wrote these files, each with mode 0600 (their contents are not shown):\n")
	fmt.Fprintf(w, "  %s  the App's private key\n  %s  the webhook secret\n", key, secret)
	if app.clientSecret {
		fmt.Fprintf(w, "  %s  the client secret, for the web page's login with GitHub\n", client)
	}
	fmt.Fprintf(w, "\nNext:\n")
	if u := installURL(app); u != "" {
		fmt.Fprintf(w, "  1. Install the App on the repositories planbot should plan: %s\n", u)
	} else {
		fmt.Fprintf(w, "  1. Install the App on the repositories planbot should plan (its settings page, Install App).\n")
	}
	fmt.Fprintf(w, "  2. Start planbot where GitHub reaches %s, as the user that owns the files:\n\n", o.WebhookURL)
	args := [][2]string{
		{"--github-app-id", strconv.FormatInt(app.ID, 10)},
		{"--github-app-key-file", key},
		{"--webhook-secret-file", secret},
	}
	if o.APIURL != publicAPIURL {
		args = append(args, [2]string{"--github-api-url", o.APIURL})
	}
	web := webArgs(o, app, client)
	args = append(args, web...)
	fmt.Fprint(w, "planbot server")
	for _, a := range args {
		fmt.Fprintf(w, " \\\n  %s %s", a[0], shellQuote(a[1]))
	}
	fmt.Fprint(w, "\n\nor, as an environment file (systemd EnvironmentFile=, docker run --env-file):\n\n")
	for _, a := range args {
		fmt.Fprintf(w, "%s=%s\n", envName(a[0]), a[1])
	}
	if web != nil {
		fmt.Fprintf(w, "\nThe web page is at %s; GitHub sends its login back to %s, which the App's manifest names as its callback URL (docs/web.md).\n", o.ExternalURL, o.CallbackURL())
	} else {
		fmt.Fprint(w, "\nGitHub returned no client id or client secret, so the command above has no web page; docs/web.md shows how to add it.\n")
	}
	fmt.Fprint(w, "\nIn a container, mount the files read-only and make them readable by planbot's user (uid 10001 in planbot's image); see docs/install.md.\n")
}

// webArgs returns the server flags of the web page's login with GitHub;
// none when the conversion returned no client id or secret.
func webArgs(o Options, app App, clientSecretFile string) [][2]string {
	if app.ClientID == "" || !app.clientSecret {
		return nil
	}
	args := [][2]string{
		{"--github-client-id", app.ClientID},
		{"--github-client-secret-file", clientSecretFile},
		{"--external-url", o.ExternalURL},
	}
	if !strings.EqualFold(o.GitHubURL, publicWebURL) {
		args = append(args, [2]string{"--github-web-url", o.GitHubURL + "/"})
	}
	return args
}

// envName is the PLANBOT_* twin of a server flag.
func envName(flag string) string {
	return "PLANBOT_" + strings.ToUpper(strings.ReplaceAll(strings.TrimPrefix(flag, "--"), "-", "_"))
}

// shellQuote quotes s for a POSIX shell when it needs quoting.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-:+=,@", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
