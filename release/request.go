package release

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/config"
)

// BranchPrefix starts the branch of every release pull request:
// planbot/release/<env>/<product>.
const BranchPrefix = "planbot/release/"

// The triggers of a release.
const (
	TriggerTag     = "tag"
	TriggerAPI     = "api"
	TriggerPromote = "promotion"
)

// Request is one release: images to set in an environment of a manifests
// repository.
type Request struct {
	// Env is the environment.
	Env string `json:"env"`
	// Product is the product whose images these are; it names the
	// branch, so that a newer release of the product supersedes an
	// older one.
	Product string  `json:"product"`
	Images  []Image `json:"images"`
	// Actor is who asked: the tag's pusher, the API's source, or who
	// commented /promote.
	Actor string `json:"actor"`
	// Trigger is TriggerTag, TriggerAPI or TriggerPromote, and Origin
	// what exactly: the tag's name, "POST /api/v1/releases", or the
	// pull request promoted.
	Trigger string `json:"trigger"`
	Origin  string `json:"origin"`
	// PromotedFrom is the number of the merged release pull request this
	// one promotes, 0 for none.
	PromotedFrom int `json:"promoted_from,omitempty"`
	// At is when the release was asked for.
	At time.Time `json:"at"`
	// SourceRepo is the repository ("owner/name") whose tag asked for
	// the release, when it is not the manifests repository; the commits
	// of its image tags are compared in its history.
	SourceRepo string `json:"source_repo,omitempty"`
}

// Branch returns the branch of the request's pull request.
func (r Request) Branch() string { return BranchPrefix + r.Env + "/" + r.Product }

// FromTag resolves a release tag of the repository source, pushed by
// actor on the commit sha, against the release configuration rel of the
// manifests repository self. Its errors are EINVALID and say what is
// wrong: a name that does not parse, an unknown product, service or
// environment, a repository that may not release into self, an image tag
// the template cannot make.
func FromTag(rel config.Release, self, source, name, sha, actor string, at time.Time) (Request, error) {
	if !rel.Allows(self, source) {
		return Request{}, planbot.Errorf(planbot.EINVALID, "%s may not release into %s (release.allowed_repos)", source, self)
	}
	t, err := rel.Pattern().Parse(name)
	if err != nil {
		return Request{}, planbot.Errorf(planbot.EINVALID, "%v", err)
	}
	p, ok := rel.Product(t.Product)
	if !ok {
		return Request{}, planbot.Errorf(planbot.EINVALID, "tag %q: unknown product %q (want one of %s)", name, t.Product, strings.Join(productNames(rel), ", "))
	}
	if _, ok := rel.Environment(t.Env); !ok {
		return Request{}, planbot.Errorf(planbot.EINVALID, "tag %q: unknown environment %q (want one of %s)", name, t.Env, strings.Join(envNames(rel), ", "))
	}
	services := p.Services
	if len(t.Services) > 0 {
		services = nil
		for _, s := range t.Services {
			i := slices.IndexFunc(p.Services, func(ps config.ReleaseService) bool { return ps.Name == s })
			if i < 0 {
				return Request{}, planbot.Errorf(planbot.EINVALID, "tag %q: product %s has no service %q (want one of %s)", name, p.Name, s, strings.Join(serviceNames(p), ", "))
			}
			services = append(services, p.Services[i])
		}
	}
	req := Request{Env: t.Env, Product: p.Name, Actor: actor, Trigger: TriggerTag, Origin: name, At: at}
	if !strings.EqualFold(source, self) {
		req.SourceRepo = source
	}
	tmpl := rel.Template()
	for _, s := range services {
		v, err := tmpl.Execute(tagValues(t, sha, s.Name))
		if err != nil {
			return Request{}, planbot.Errorf(planbot.EINVALID, "tag %q: %v", name, err)
		}
		req.Images = append(req.Images, Image{Name: s.Image, Tag: v})
	}
	return req, nil
}

// FromImages resolves a release of images (by name, with a tag or digest)
// to the environment env, asked by actor through trigger and origin,
// against the release configuration rel. Every image must be the image of
// a service, all of one product. Its errors are EINVALID.
func FromImages(rel config.Release, env string, images []Image, actor, trigger, origin string, at time.Time) (Request, error) {
	if _, ok := rel.Environment(env); !ok {
		return Request{}, planbot.Errorf(planbot.EINVALID, "unknown environment %q (want one of %s)", env, strings.Join(envNames(rel), ", "))
	}
	if len(images) == 0 {
		return Request{}, planbot.Errorf(planbot.EINVALID, "no images to release")
	}
	req := Request{Env: env, Actor: actor, Trigger: trigger, Origin: origin, At: at}
	for i, img := range images {
		if err := img.Check(); err != nil {
			return Request{}, planbot.Errorf(planbot.EINVALID, "images[%d]: %v", i, err)
		}
		p, _, ok := rel.ServiceOf(img.Name)
		switch {
		case !ok:
			return Request{}, planbot.Errorf(planbot.EINVALID, "images[%d]: unknown image %q (not the image of a service in release.products)", i, img.Name)
		case req.Product != "" && p.Name != req.Product:
			return Request{}, planbot.Errorf(planbot.EINVALID, "images[%d]: %s is an image of product %s, not %s: release one product at a time", i, img.Name, p.Name, req.Product)
		case slices.ContainsFunc(req.Images, func(o Image) bool { return o.Name == img.Name }):
			return Request{}, planbot.Errorf(planbot.EINVALID, "images[%d]: %s is listed twice", i, img.Name)
		}
		req.Product = p.Name
		req.Images = append(req.Images, img)
	}
	return req, nil
}

func productNames(rel config.Release) []string {
	var out []string
	for _, p := range rel.Products {
		out = append(out, p.Name)
	}
	return out
}

func envNames(rel config.Release) []string {
	var out []string
	for _, e := range rel.Environments {
		out = append(out, e.Name)
	}
	return out
}

func serviceNames(p config.ReleaseProduct) []string {
	var out []string
	for _, s := range p.Services {
		out = append(out, s.Name)
	}
	return out
}

// Merge returns r with the images of older that r does not set: a release
// that supersedes an open older one carries its other images on, so that
// closing the older pull request loses nothing.
func (r Request) Merge(older Request) Request {
	for _, img := range older.Images {
		if !slices.ContainsFunc(r.Images, func(o Image) bool { return o.Name == img.Name }) {
			r.Images = append(r.Images, img)
		}
	}
	return r
}

// describe returns "api 1.0.1" style text of the images, by their last
// path segment.
func describe(images []Image) string {
	var parts []string
	for _, img := range images {
		name := img.Name[strings.LastIndex(img.Name, "/")+1:]
		to := img.To()
		if len(to) > 19 {
			to = to[:19] + "…"
		}
		parts = append(parts, name+" "+to)
	}
	return strings.Join(parts, ", ")
}

// Title returns the pull request's title: what goes where.
func (r Request) Title(rollback bool) string {
	verb := "Release"
	if rollback {
		verb = "Roll back"
	}
	return fmt.Sprintf("%s %s to %s: %s", verb, r.Product, r.Env, describe(r.Images))
}
