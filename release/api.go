package release

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/planbot/planbot"
)

// APIRequest is the body of POST /api/v1/releases: set images in an
// environment of a manifests repository.
type APIRequest struct {
	// Repo is the manifests repository, "owner/name".
	Repo        string  `json:"repo"`
	Environment string  `json:"environment"`
	Images      []Image `json:"images"`
	// Source says who asks (a CI job, a person); it is shown as "who
	// asked" on the pull request.
	Source string `json:"source,omitempty"`
}

// APIJob is the payload of the job an API request is stored as: the
// request, the installation of its repository, and when it came.
type APIJob struct {
	APIRequest
	Installation int64     `json:"installation"`
	ReceivedAt   time.Time `json:"received_at"`
}

// APIResult is the answer to an API release, stored as its job's result.
type APIResult struct {
	// State is "opened" (a pull request was opened), "unchanged" (the
	// overlays already had the images), "refused" (Error says why) or
	// "dry_run" (planbot runs with --dry-run and opened nothing).
	State string `json:"state"`
	PR    int    `json:"pr,omitempty"`
	URL   string `json:"url,omitempty"`
	// Superseded are the older release pull requests closed.
	Superseded []int  `json:"superseded,omitempty"`
	Error      string `json:"error,omitempty"`
}

// maxAPIBody bounds the body of an API request.
const maxAPIBody = 64 << 10

var (
	repoRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+$`)
	sourceRE = regexp.MustCompile(`^[^\x00-\x1f\x7f]{1,100}$`)
)

// DecodeAPIRequest reads and checks the shape of an API request body: a
// JSON object with exactly the known fields, a repo "owner/name", an
// environment, at least one image with a name and a tag or a digest, and
// an optional one-line source. Its errors are EINVALID and say what is
// wrong. Whether the environment and images exist is for the
// repository's configuration to say (see FromImages).
func DecodeAPIRequest(r io.Reader) (APIRequest, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxAPIBody+1))
	if err != nil {
		return APIRequest{}, planbot.Errorf(planbot.EINVALID, "cannot read the body")
	}
	if len(data) > maxAPIBody {
		return APIRequest{}, planbot.Errorf(planbot.EINVALID, "the body is larger than %d bytes", maxAPIBody)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var req APIRequest
	if err := dec.Decode(&req); err != nil {
		return APIRequest{}, planbot.Errorf(planbot.EINVALID, "invalid JSON body: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return APIRequest{}, planbot.Errorf(planbot.EINVALID, "invalid JSON body: more than one value")
	}
	return req, req.Check()
}

// Check returns what is wrong with the request's shape, or nil.
func (r APIRequest) Check() error {
	switch {
	case !repoRE.MatchString(r.Repo):
		return planbot.Errorf(planbot.EINVALID, "repo must be owner/name, not %q", r.Repo)
	case strings.TrimSpace(r.Environment) == "":
		return planbot.Errorf(planbot.EINVALID, "environment is required")
	case len(r.Images) == 0:
		return planbot.Errorf(planbot.EINVALID, "images must list at least one image")
	case len(r.Images) > 50:
		return planbot.Errorf(planbot.EINVALID, "images lists more than 50 images")
	case r.Source != "" && !sourceRE.MatchString(r.Source):
		return planbot.Errorf(planbot.EINVALID, "source must be one line of at most 100 characters")
	}
	for i, img := range r.Images {
		if err := img.Check(); err != nil {
			return planbot.Errorf(planbot.EINVALID, "images[%d]: %v", i, err)
		}
	}
	return nil
}

// Actor returns who asked: the source, or "api" without one.
func (r APIRequest) Actor() string {
	if r.Source == "" {
		return "api"
	}
	return r.Source
}

// String describes the request for logs.
func (r APIRequest) String() string {
	var refs []string
	for _, img := range r.Images {
		refs = append(refs, img.Ref())
	}
	return fmt.Sprintf("%s %s: %s", r.Repo, r.Environment, strings.Join(refs, ", "))
}
