package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/planbot/planbot/release/tag"
)

// Release is the release section of RepoFile, in the manifests repository
// that releases change (see docs/releases.md). planbot reads it from the
// default branch. Without it the repository takes no releases.
type Release struct {
	// ManifestsRepo, in an application repository, names the manifests
	// repository ("owner/name") that the release tags pushed here
	// release into; that repository's release section decides, and must
	// list this one in allowed_repos. It excludes every other key.
	ManifestsRepo string `yaml:"manifests_repo"`
	// TagPattern is the pattern of release tags (see package
	// release/tag); "" is tag.Default.
	TagPattern string `yaml:"tag_pattern"`
	// ImageTag is the template of the image tag a release tag sets (see
	// tag.CompileTemplate); "" is tag.DefaultImageTag, the commit's SHA.
	ImageTag string `yaml:"image_tag"`
	// AllowedRepos are the repositories ("owner/name") whose tags and API
	// calls may release into this one; none means only this repository.
	AllowedRepos []string `yaml:"allowed_repos"`
	// Products are the products and their services.
	Products []ReleaseProduct `yaml:"products"`
	// Environments are where releases go.
	Environments []ReleaseEnvironment `yaml:"environments"`
}

// ReleaseProduct is a product: a set of services released together by a
// tag that names no service.
type ReleaseProduct struct {
	Name     string           `yaml:"name"`
	Services []ReleaseService `yaml:"services"`
}

// ReleaseService is one service of a product and its container image.
type ReleaseService struct {
	Name string `yaml:"name"`
	// Image is the image name as the kustomization's images: entries
	// name it, such as ghcr.io/acme/shop-api.
	Image string `yaml:"image"`
}

// ReleaseEnvironment is an environment releases go to.
type ReleaseEnvironment struct {
	Name string `yaml:"name"`
	// Overlays are the repo-relative dirs of the environment's Kustomize
	// overlays, whose kustomization images: a release sets.
	Overlays []string `yaml:"overlays"`
	// AutoMerge reports whether a release PR to the environment is merged
	// once its plan succeeds, with no approval.
	AutoMerge bool `yaml:"auto_merge"`
	// PromoteTo names the environment a merged release is promoted to,
	// with the same image references; "" promotes nowhere.
	PromoteTo string `yaml:"promote_to"`
}

// Pattern returns the compiled tag pattern.
func (r *Release) Pattern() *tag.Pattern {
	if r.TagPattern == "" {
		return tag.MustCompile(tag.Default)
	}
	p, err := tag.Compile(r.TagPattern)
	if err != nil {
		return tag.MustCompile(tag.Default) // validated when parsed
	}
	return p
}

// Template returns the compiled image tag template.
func (r *Release) Template() *tag.Template {
	src := r.ImageTag
	if src == "" {
		src = tag.DefaultImageTag
	}
	t, err := tag.CompileTemplate(src)
	if err != nil {
		t, _ = tag.CompileTemplate(tag.DefaultImageTag) // validated when parsed
	}
	return t
}

// Product returns the product called name.
func (r *Release) Product(name string) (ReleaseProduct, bool) {
	i := slices.IndexFunc(r.Products, func(p ReleaseProduct) bool { return p.Name == name })
	if i < 0 {
		return ReleaseProduct{}, false
	}
	return r.Products[i], true
}

// Environment returns the environment called name.
func (r *Release) Environment(name string) (ReleaseEnvironment, bool) {
	i := slices.IndexFunc(r.Environments, func(e ReleaseEnvironment) bool { return e.Name == name })
	if i < 0 {
		return ReleaseEnvironment{}, false
	}
	return r.Environments[i], true
}

// ServiceOf returns the product and service whose image is image.
func (r *Release) ServiceOf(image string) (ReleaseProduct, ReleaseService, bool) {
	for _, p := range r.Products {
		for _, s := range p.Services {
			if s.Image == image {
				return p, s, true
			}
		}
	}
	return ReleaseProduct{}, ReleaseService{}, false
}

// Allows reports whether the repository source ("owner/name") may release
// into the repository self.
func (r *Release) Allows(self, source string) bool {
	if len(r.AllowedRepos) == 0 {
		return strings.EqualFold(self, source)
	}
	return slices.ContainsFunc(r.AllowedRepos, func(a string) bool { return strings.EqualFold(a, source) })
}

var (
	// releaseNameRE is the syntax of product, service and environment
	// names: what the tag pattern's placeholders match, without ",".
	releaseNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	// imageRE is the syntax of an image name without tag or digest.
	imageRE = regexp.MustCompile(`^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$`)
	// repoNameRE is the syntax of "owner/name".
	repoNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+$`)
)

// validateRelease checks the release section.
func (d *decoder) validateRelease(r *Release) {
	if !d.has("release") {
		return
	}
	const k = "release"
	if d.has(k + ".manifests_repo") {
		if !repoNameRE.MatchString(r.ManifestsRepo) {
			d.errorf(d.line(k+".manifests_repo"), k+".manifests_repo", "%q must be owner/name", r.ManifestsRepo)
		}
		for _, other := range []string{"tag_pattern", "image_tag", "allowed_repos", "products", "environments"} {
			if d.has(k + "." + other) {
				d.errorf(d.line(k+"."+other), k+"."+other, "goes in the release section of %s, not with manifests_repo", r.ManifestsRepo)
			}
		}
		return
	}
	if d.has(k + ".tag_pattern") {
		if _, err := tag.Compile(r.TagPattern); err != nil {
			d.errorf(d.line(k+".tag_pattern"), k+".tag_pattern", "%v", err)
		}
	}
	if d.has(k + ".image_tag") {
		if _, err := tag.CompileTemplate(r.ImageTag); err != nil {
			d.errorf(d.line(k+".image_tag"), k+".image_tag", "%v", err)
		}
	}
	for i, repo := range r.AllowedRepos {
		rk := fmt.Sprintf("%s.allowed_repos[%d]", k, i)
		if !repoNameRE.MatchString(repo) {
			d.errorf(d.line(rk), rk, "%q must be owner/name", repo)
		}
	}
	if len(r.Products) == 0 {
		d.errorf(d.line(k+".products"), k+".products", "must list at least one product")
	}
	if len(r.Environments) == 0 {
		d.errorf(d.line(k+".environments"), k+".environments", "must list at least one environment")
	}
	d.validateProducts(r)
	d.validateEnvironments(r)
}

// validateProducts checks the products and their services: names unique,
// each image in one service only.
func (d *decoder) validateProducts(r *Release) {
	products := map[string]int{}
	images := map[string]string{}
	for i, p := range r.Products {
		pk := fmt.Sprintf("release.products[%d]", i)
		d.checkReleaseName(pk, p.Name, products, i, "products")
		if len(p.Services) == 0 {
			d.errorf(d.line(pk+".services"), pk+".services", "must list at least one service")
		}
		services := map[string]int{}
		for j, s := range p.Services {
			sk := fmt.Sprintf("%s.services[%d]", pk, j)
			d.checkReleaseName(sk, s.Name, services, j, pk+".services")
			switch {
			case !d.has(sk + ".image"):
				d.errorf(d.line(sk), sk+".image", "is required")
			case !imageRE.MatchString(s.Image):
				d.errorf(d.line(sk+".image"), sk+".image", "%q is not an image name (lower case, without tag or digest)", s.Image)
			case images[s.Image] != "":
				d.errorf(d.line(sk+".image"), sk+".image", "%q is already the image of %s", s.Image, images[s.Image])
			default:
				images[s.Image] = sk
			}
		}
	}
}

// validateEnvironments checks the environments: names unique, overlays
// clean relative dirs, promote_to another environment.
func (d *decoder) validateEnvironments(r *Release) {
	envs := map[string]int{}
	for i, e := range r.Environments {
		ek := fmt.Sprintf("release.environments[%d]", i)
		d.checkReleaseName(ek, e.Name, envs, i, "release.environments")
		if len(r.Environments[i].Overlays) == 0 {
			d.errorf(d.line(ek+".overlays"), ek+".overlays", "must list at least one overlay dir")
		}
		for j, o := range e.Overlays {
			ok := fmt.Sprintf("%s.overlays[%d]", ek, j)
			if dir, msg := cleanDir(o); msg != "" {
				d.errorf(d.line(ok), ok, "%s", msg)
			} else {
				r.Environments[i].Overlays[j] = dir
			}
		}
	}
	for i, e := range r.Environments {
		pk := fmt.Sprintf("release.environments[%d].promote_to", i)
		switch _, known := envs[e.PromoteTo]; {
		case !d.has(pk):
		case e.PromoteTo == e.Name:
			d.errorf(d.line(pk), pk, "an environment cannot promote to itself")
		case !known:
			d.errorf(d.line(pk), pk, "%q is not an environment of release.environments", e.PromoteTo)
		}
	}
}

// checkReleaseName checks the name at key path k+".name", the i-th of a
// list whose names seen records.
func (d *decoder) checkReleaseName(k, name string, seen map[string]int, i int, list string) {
	nk := k + ".name"
	switch first, dup := seen[name]; {
	case !d.has(nk):
		d.errorf(d.line(k), nk, "is required")
	case !releaseNameRE.MatchString(name):
		d.errorf(d.line(nk), nk, "%q must use only A-Z a-z 0-9 _ . - and start with a letter or digit", name)
	case dup:
		d.errorf(d.line(nk), nk, "%q is already the name of %s[%d]", name, strings.TrimPrefix(list, ""), first)
	default:
		seen[name] = i
	}
}
