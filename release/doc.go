// Package release turns a release (images to set in an environment of a
// manifests repository) into a change of that repository: the images:
// entries of the environment's Kustomize overlays, edited as YAML nodes
// with kyaml so that the rest of each file is kept.
//
// See docs/releases.md for the whole flow: release tags and the API, the
// pull request, supersession, auto-merge and promotion.
package release
