// Package comment renders planbot's pull request comment and keeps it up to
// date.
//
// The model is one logical comment per pull request, split into numbered
// parts when it would exceed GitHub's 65,536-character body limit. Every
// part starts with a hidden marker, <!-- planbot:plan pr=N part=K -->, and
// Upsert finds planbot's earlier parts by that marker together with the
// bot's login, so the parts are edited in place on every new push instead
// of piling up. Parts that a shorter render no longer needs are kept and
// edited to a short note (never deleted), so the conversation keeps its
// shape and a later, longer render reuses them.
//
// Rendering is a pure function of values (Render, Help, ErrorText,
// StatusDescription). Part 1 always holds the verdict for the whole pull
// request, a summary table with one row per project, the head SHA and the
// commands to run next. The per-project sections follow, split between
// parts by project first and by line second; a part never ends inside a
// code fence or a <details> block: the open blocks are closed at the end of
// a part and reopened at the start of the next one.
//
// Terraform's plan output is shown in a ```diff block so that GitHub colors
// it. Terraform puts its action markers after the indentation, where the
// diff highlighter does not see them, so each marker is moved to column 0
// and the indentation kept after it, preserving the text's columns:
//
//	"  + create"   -> "+   create"    (green)
//	"  - destroy"  -> "-   destroy"   (red)
//	"  ~ update"   -> "!   update"    (orange: "!" is diff's "changed")
//	"-/+ replace"  -> "!   replace"   (the line above says "must be replaced")
//	"+/- replace"  -> "!   replace"
//
// Other lines, including data source reads ("<="), are left unchanged.
//
// Everything Render emits passes through redact.String, which masks the secret
// values it is given and strings that look like credentials.
package comment
