package setup

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/config"
)

const (
	synopsis = "planbot setup [--org ORG] --webhook-url URL [flags]"
	about    = `Creates planbot's GitHub App from a manifest. It serves a local page whose
button sends the manifest (exactly the permissions and events planbot needs)
to GitHub; after you confirm there, GitHub sends the browser back, and
planbot writes the App's private key, webhook secret and client secret to
files of mode 0600 in --dir (it never overwrites them, and never prints
them) and prints the planbot server command that uses them, the web
page's login with GitHub included (its callback is
--external-url/auth/callback).

Without --org the App belongs to the personal account that confirms it.`
)

// flags returns the flag set of `planbot setup`, bound to o.
func flags(o *Options) *flag.FlagSet {
	fs := config.NewFlagSet("planbot setup")
	fs.StringVar(&o.Org, "org", "", "organization `LOGIN` that owns the App (default: your personal account)")
	fs.StringVar(&o.WebhookURL, "webhook-url", "", "public `URL` GitHub sends webhooks to, such as https://planbot.example.com/webhook (required)")
	fs.StringVar(&o.Name, "name", "", "the App's `NAME` (default planbot-ORG, or planbot)")
	fs.StringVar(&o.HomepageURL, "homepage-url", "", "the App's homepage `URL` (default: the webhook URL's scheme and host)")
	fs.StringVar(&o.ExternalURL, "external-url", "", "`URL` browsers reach planbot's web page at; the App's login callback is URL/auth/callback (default: the webhook URL's scheme and host)")
	fs.StringVar(&o.GitHubURL, "github-url", "https://github.com", "GitHub's web `URL`; for GitHub Enterprise Server https://HOST")
	fs.StringVar(&o.APIURL, "github-api-url", "", "GitHub's REST root `URL` (default https://api.github.com/, or https://HOST/api/v3/ with --github-url)")
	fs.StringVar(&o.Dir, "dir", ".", "directory `DIR` the key and secret files are written to (created with mode 0700)")
	fs.StringVar(&o.Addr, "addr", "127.0.0.1:8765", "local address `ADDR` of the setup page; GitHub sends the browser back to it")
	return fs
}

// WriteUsage writes the help of `planbot setup`.
func WriteUsage(w io.Writer) {
	var o Options
	config.WriteUsage(w, synopsis, about, flags(&o), true)
}

// Main runs `planbot setup` with args (without the program and subcommand
// names). It returns the exit status: 0 on success, 2 on a usage error, 1
// on any other error.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o Options
	fs := flags(&o)
	if code, ok := config.ParseCommand(fs, args, WriteUsage, stdout, stderr); !ok {
		return code
	}
	if err := o.Validate(); err != nil {
		fmt.Fprintf(stderr, "planbot setup: %s\nRun \"planbot setup -h\" for every flag.\n", planbot.ErrorMessage(err))
		return 2
	}
	if err := Run(ctx, o, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "planbot setup: %s\n", message(err))
		return 1
	}
	return 0
}

// message is err's text for the terminal: planbot's own errors in full,
// for they name files and never secrets.
func message(err error) string {
	var e *planbot.Error
	if errors.As(err, &e) {
		return e.Error()
	}
	return err.Error()
}
