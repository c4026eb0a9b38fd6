package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const shopRelease = `
version: 1
release:
	image_tag: "{{.ShortSHA}}"
	allowed_repos: [acme/shop-app]
	products:
		- name: shop
			services:
				- name: api
					image: ghcr.io/acme/shop-api
				- name: worker
					image: ghcr.io/acme/shop-worker
	environments:
		- name: staging
			overlays: [k8s/overlays/staging/]
			auto_merge: true
			promote_to: production
		- name: production
			overlays: [k8s/overlays/production]
`

func TestParseRelease(t *testing.T) {
	r, err := ParseRepo(yamlText(shopRelease))
	if err != nil {
		t.Fatal(err)
	}
	if !r.Releases() {
		t.Fatal("Releases() = false")
	}
	want := Release{
		ImageTag:     "{{.ShortSHA}}",
		AllowedRepos: []string{"acme/shop-app"},
		Products: []ReleaseProduct{{Name: "shop", Services: []ReleaseService{
			{Name: "api", Image: "ghcr.io/acme/shop-api"}, {Name: "worker", Image: "ghcr.io/acme/shop-worker"},
		}}},
		Environments: []ReleaseEnvironment{
			{Name: "staging", Overlays: []string{"k8s/overlays/staging"}, AutoMerge: true, PromoteTo: "production"},
			{Name: "production", Overlays: []string{"k8s/overlays/production"}},
		},
	}
	if diff := cmp.Diff(r.Release, want); diff != "" {
		t.Errorf("release (-got +want):\n%s", diff)
	}
	if got := r.Release.Pattern().String(); got != "<product>/<env>/<yyyy>/<mm>/<dd>/<hhmm>-<name>[-<services>]" {
		t.Errorf("default pattern = %q", got)
	}
	if !r.Release.Allows("acme/k8s", "ACME/shop-app") || r.Release.Allows("acme/k8s", "acme/k8s") {
		t.Errorf("Allows does not follow allowed_repos")
	}
	self := Release{}
	if !self.Allows("acme/k8s", "acme/K8s") || self.Allows("acme/k8s", "acme/other") {
		t.Errorf("Allows without allowed_repos must allow only the repository itself")
	}
	if p, s, ok := r.Release.ServiceOf("ghcr.io/acme/shop-worker"); !ok || p.Name != "shop" || s.Name != "worker" {
		t.Errorf("ServiceOf = %v %v %v", p, s, ok)
	}
	if (&Repo{}).Releases() {
		t.Errorf("a repo without a release section takes releases")
	}
}

func TestParseReleaseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{name: "empty section", in: "version: 1\nrelease: {}\n", want: []string{
			".planbot.yaml:2: release.products: must list at least one product",
			".planbot.yaml:2: release.environments: must list at least one environment",
		}},
		{name: "everything wrong", in: `
version: 1
release:
	tag_pattern: "<product>/<team>"
	image_tag: "{{.Commit}}"
	allowed_repos: [shop]
	products:
		- name: shop
			services:
				- name: api
					image: ghcr.io/acme/api:1.0
				- name: api
					image: ghcr.io/acme/api2
				- image: ghcr.io/acme/api2
		- name: "a,b"
			services: []
	environments:
		- name: staging
			overlays: [../x]
			promote_to: staging
		- name: prod
			overlays: []
			promote_to: nowhere
		- name: prod
			overlays: [a]
`, want: []string{
			`.planbot.yaml:3: release.tag_pattern: tag pattern "<product>/<team>": unknown placeholder <team> (want product, env, yyyy, mm, dd, hhmm, name or services)`,
			`.planbot.yaml:4: release.image_tag: image tag template "{{.Commit}}": template: image_tag:1:2: executing "image_tag" at <.Commit>: can't evaluate field Commit in type tag.Values`,
			`.planbot.yaml:5: release.allowed_repos[0]: "shop" must be owner/name`,
			`.planbot.yaml:10: release.products[0].services[0].image: "ghcr.io/acme/api:1.0" is not an image name (lower case, without tag or digest)`,
			`.planbot.yaml:11: release.products[0].services[1].name: "api" is already the name of release.products[0].services[0]`,
			`.planbot.yaml:13: release.products[0].services[2].name: is required`,
			`.planbot.yaml:13: release.products[0].services[2].image: "ghcr.io/acme/api2" is already the image of release.products[0].services[1]`,
			`.planbot.yaml:14: release.products[1].name: "a,b" must use only A-Z a-z 0-9 _ . - and start with a letter or digit`,
			`.planbot.yaml:15: release.products[1].services: must list at least one service`,
			`.planbot.yaml:18: release.environments[0].overlays[0]: must be a relative path without ".."`,
			`.planbot.yaml:19: release.environments[0].promote_to: an environment cannot promote to itself`,
			`.planbot.yaml:21: release.environments[1].overlays: must list at least one overlay dir`,
			`.planbot.yaml:22: release.environments[1].promote_to: "nowhere" is not an environment of release.environments`,
			`.planbot.yaml:23: release.environments[2].name: "prod" is already the name of release.environments[1]`,
		}},
		{name: "manifests_repo with products", in: "version: 1\nrelease:\n\tmanifests_repo: k8s\n\tproducts: []\n", want: []string{
			`.planbot.yaml:3: release.manifests_repo: "k8s" must be owner/name`,
			".planbot.yaml:4: release.products: goes in the release section of k8s, not with manifests_repo",
		}},
		{name: "unknown key", in: "version: 1\nrelease:\n\tbogus: 1\n", want: []string{
			".planbot.yaml:3: release.bogus: unknown key (want one of manifests_repo, tag_pattern, image_tag, allowed_repos, products, environments)",
		}},
		{name: "wrong shapes", in: "version: 1\nrelease:\n\tproducts: shop\n\tenvironments:\n\t\t- name: a\n\t\t\toverlays: [a]\n\t\t\tauto_merge: yes\n", want: []string{
			".planbot.yaml:3: release.products: must be a list",
			".planbot.yaml:7: release.environments[0].auto_merge: must be true or false",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRepo(yamlText(tt.in))
			if err == nil {
				t.Fatal("ParseRepo succeeded")
			}
			if diff := cmp.Diff(strings.Split(err.Error(), "\n"), tt.want); diff != "" {
				t.Errorf("errors (-got +want):\n%s", diff)
			}
		})
	}
}
