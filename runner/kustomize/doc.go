// Package kustomize plans Kustomize overlays: it finds the overlays a change
// affects, renders them in process with kustomize's krusty API on the base
// and head trees of a pull request, and diffs the rendered resources.
//
// The model has three steps.
//
// Detect parses every kustomization in a checked-out tree and builds the
// graph of local references between them (resources, bases, components,
// patches, generator files, crds, replacements, configurations, ...). A
// changed file marks the kustomization whose directory holds it and every
// kustomization that references it; marks flow to every kustomization that
// includes a marked one. The marked leaves, kustomizations that nothing else
// includes, are the overlays an environment receives, and they are the
// projects. DetectDeleted finds overlays that exist on base but are gone on
// head.
//
// Build renders one overlay. Before krusty runs, the overlay's reference
// graph is walked and checked: remote bases (URLs, git@ and ?ref= forms) are
// refused because krusty would clone them, every local path must resolve,
// symlinks included, inside the workspace root, and exec or container KRM
// functions and Helm charts are refused. krusty then runs with the root-only
// load restrictor, plugins disabled, on a file system confined to the
// workspace root, under a time limit and an output size limit. The values of
// every Secret's data and stringData are replaced by digests as soon as a
// resource leaves krusty, so no later step can render them.
//
// Diff matches base and head resources by (group, kind, namespace, name),
// pairing a generator's hash-suffixed ConfigMap or Secret with its renamed
// successor, and renders a unified diff of the normalized YAML of each
// changed resource. For Secrets it names only the keys that were added,
// removed or changed.
//
// Plan ties the steps together for one overlay: base and head are built
// concurrently through a Cache keyed by a content hash of every file the
// overlay can read, so the unchanged side of a pull request is rendered
// once, not once per plan.
package kustomize
