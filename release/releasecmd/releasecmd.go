// Package releasecmd is `planbot release`: it asks a running planbot
// server, through its release API (POST /api/v1/releases), to release
// images to an environment of a manifests repository, and prints the pull
// request it opened. It is what an application's CI runs after it pushed
// an image.
package releasecmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/config"
	"github.com/planbot/planbot/release"
)

// Exit statuses.
const (
	// ExitOK: a pull request was opened, or there was nothing to change.
	ExitOK = 0
	// ExitError: the release was refused or failed, or the server could
	// not be asked.
	ExitError = 1
	// ExitUsage: the command line is wrong.
	ExitUsage = 2
)

const (
	synopsis = "planbot release --url URL --api-token-file FILE --repo OWNER/NAME --environment ENV --image NAME=TAG|NAME@DIGEST… [--source TEXT]"
	about    = `Asks a planbot server to release images to an environment of a manifests
repository, through POST /api/v1/releases, and prints the pull request it
opened ("opened #N URL") or that nothing changed. It waits for the pull
request up to --wait, polling GET /api/v1/releases/ID. Exit status: 0 opened
or unchanged, 1 refused or failed, 2 usage. See docs/releases.md.`
)

// Options is the configuration of `planbot release`.
type Options struct {
	// URL is the planbot server's root, such as https://planbot.example.com.
	URL          string
	APITokenFile string
	Request      release.APIRequest
	// Wait bounds how long to poll for the pull request.
	Wait time.Duration
}

// imagesValue is the repeatable --image flag: NAME=TAG or NAME@DIGEST.
type imagesValue struct{ p *[]release.Image }

func (v imagesValue) String() string {
	if v.p == nil {
		return ""
	}
	var s []string
	for _, img := range *v.p {
		s = append(s, img.Ref())
	}
	return strings.Join(s, ",")
}

// Set adds one image, or, from the environment twin, a comma-separated
// list of them.
func (v imagesValue) Set(s string) error {
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		var img release.Image
		if name, digest, ok := strings.Cut(item, "@"); ok {
			img = release.Image{Name: name, Digest: digest}
		} else if name, tag, ok := strings.Cut(item, "="); ok {
			img = release.Image{Name: name, Tag: tag}
		} else {
			return fmt.Errorf("%q is neither NAME=TAG nor NAME@DIGEST", item)
		}
		*v.p = append(*v.p, img)
	}
	return nil
}

func flags(o *Options) *flag.FlagSet {
	fs := config.NewFlagSet("planbot release")
	fs.StringVar(&o.URL, "url", "", "the planbot server's root URL, such as https://planbot.example.com")
	fs.StringVar(&o.APITokenFile, "api-token-file", "", "file holding the release API's bearer token (the server's --api-token-file)")
	fs.StringVar(&o.Request.Repo, "repo", "", "the manifests repository, owner/name")
	fs.StringVar(&o.Request.Environment, "environment", "", "the environment to release to, as its .planbot.yaml names it")
	fs.Var(imagesValue{&o.Request.Images}, "image", "an image to set, NAME=TAG or NAME@sha256:DIGEST; repeat for several (the environment twin takes a comma-separated list)")
	fs.StringVar(&o.Request.Source, "source", "", "who asks, shown on the pull request (such as the CI job)")
	fs.DurationVar(&o.Wait, "wait", 5*time.Minute, "how long to wait for the pull request")
	return fs
}

// WriteUsage writes the help of `planbot release`.
func WriteUsage(w io.Writer) {
	var o Options
	config.WriteUsage(w, synopsis, about, flags(&o), true)
}

// ParseOptions parses the flags of `planbot release`; a flag not given
// takes its PLANBOT_* environment twin, read through getenv. It returns
// flag.ErrHelp for -h and otherwise an EINVALID error for any problem.
func ParseOptions(args []string, getenv func(string) string) (Options, error) {
	var o Options
	fs := flags(&o)
	// PLANBOT_IMAGE is read after the command line, and only without
	// --image: --image adds to the list, so it could not win otherwise.
	imageEnv := config.EnvName("image")
	err := config.ParseFlags(fs, args, func(k string) string {
		if k == imageEnv {
			return ""
		}
		return getenv(k)
	})
	if err != nil {
		return Options{}, err
	}
	if fs.NArg() > 0 {
		return Options{}, planbot.Errorf(planbot.EINVALID, "unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if v := getenv(imageEnv); v != "" && len(o.Request.Images) == 0 {
		if err := (imagesValue{&o.Request.Images}).Set(v); err != nil {
			return Options{}, planbot.Errorf(planbot.EINVALID, "invalid %s=%q: %v", imageEnv, v, err)
		}
	}
	var problems []string
	if !config.IsHTTPURL(o.URL) {
		problems = append(problems, "--url (PLANBOT_URL) must be the server's http(s) root URL")
	}
	if o.APITokenFile == "" {
		problems = append(problems, "--api-token-file (PLANBOT_API_TOKEN_FILE) is required")
	}
	if o.Wait <= 0 {
		problems = append(problems, "--wait must be positive")
	}
	if err := o.Request.Check(); err != nil {
		problems = append(problems, planbot.ErrorMessage(err))
	}
	if len(problems) > 0 {
		return Options{}, planbot.Errorf(planbot.EINVALID, "%s", strings.Join(problems, "\n"))
	}
	return o, nil
}

// Main runs `planbot release` and returns its exit status.
func Main(ctx context.Context, args []string, getenv func(string) string, client *http.Client, stdout, stderr io.Writer) int {
	o, err := ParseOptions(args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		WriteUsage(stdout)
		return ExitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "planbot release: %s\nRun \"planbot release -h\" for every flag.\n", planbot.ErrorMessage(err))
		return ExitUsage
	}
	tok, err := os.ReadFile(o.APITokenFile)
	if err != nil {
		fmt.Fprintf(stderr, "planbot release: read the API token: %v\n", err)
		return ExitError
	}
	c := &apiClient{base: strings.TrimSuffix(o.URL, "/"), token: strings.TrimSpace(string(tok)), http: client}
	ans, err := c.release(ctx, o.Request, o.Wait)
	if err != nil {
		fmt.Fprintf(stderr, "planbot release: %v\n", err)
		return ExitError
	}
	switch ans.State {
	case "opened":
		fmt.Fprintf(stdout, "opened #%d %s\n", ans.PR, ans.URL)
		for _, n := range ans.Superseded {
			fmt.Fprintf(stdout, "superseded #%d (closed)\n", n)
		}
		return ExitOK
	case "unchanged":
		fmt.Fprintln(stdout, "unchanged: the environment already has these images; no pull request")
		return ExitOK
	}
	fmt.Fprintf(stderr, "planbot release: %s: %s\n", ans.State, ans.Error)
	return ExitError
}

// answer is the JSON answer of the release API.
type answer struct {
	ID         string `json:"id"`
	State      string `json:"state"`
	PR         int    `json:"pr"`
	URL        string `json:"url"`
	Superseded []int  `json:"superseded"`
	Error      string `json:"error"`
}

// apiClient calls the release API.
type apiClient struct {
	base, token string
	http        *http.Client
}

// release posts req and polls its release until it is no longer queued or
// running, or wait ends.
func (c *apiClient) release(ctx context.Context, req release.APIRequest, wait time.Duration) (answer, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	body, err := json.Marshal(req)
	if err != nil {
		return answer{}, err
	}
	ans, err := c.call(ctx, http.MethodPost, "/api/v1/releases", body)
	for err == nil && (ans.State == "queued" || ans.State == "running") {
		select {
		case <-ctx.Done():
			return ans, fmt.Errorf("release %s still %s after %v; ask again with GET %s/api/v1/releases/%s", ans.ID, ans.State, wait, c.base, ans.ID)
		case <-time.After(time.Second):
		}
		ans, err = c.call(ctx, http.MethodGet, "/api/v1/releases/"+url.PathEscape(ans.ID), nil)
	}
	return ans, err
}

// call sends one request and decodes the answer; a 400 with a reason is an
// answer in state "refused", other failures are errors.
func (c *apiClient) call(ctx context.Context, method, path string, body []byte) (answer, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "planbot-release")
	resp, err := c.http.Do(req)
	if err != nil {
		return answer{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	var ans answer
	dec := json.NewDecoder(io.LimitReader(resp.Body, 1<<20))
	if err := dec.Decode(&ans); err != nil {
		return answer{}, fmt.Errorf("%s %s: %s, and no JSON answer", method, path, resp.Status)
	}
	switch {
	case resp.StatusCode == http.StatusBadRequest:
		ans.State = "refused"
		return ans, nil
	case resp.StatusCode >= 300:
		return answer{}, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, ans.Error)
	}
	return ans, nil
}
