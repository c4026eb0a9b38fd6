package terraform

import (
	"bufio"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/planbot/planbot"
)

// changes counts what plan does. Each resource instance is counted once:
// a replacement (delete and create, in either order) counts in Replace
// only, not in Add or Destroy as terraform's summary line counts it.
// Import and Move are counted independently of the action, since a moved
// or imported resource may also be updated. Data source reads and
// "forget" actions are not counted. Moves are listed as "OLD -> NEW".
func changes(plan *tfjson.Plan) planbot.Changes {
	var c planbot.Changes
	if plan == nil {
		return c
	}
	for _, rc := range plan.ResourceChanges {
		if rc == nil || rc.Change == nil {
			continue
		}
		a := rc.Change.Actions
		switch {
		case a.Replace():
			c.Replace++
			c.Replaces = append(c.Replaces, rc.Address)
		case a.Create():
			c.Add++
		case a.Update():
			c.Change++
		case a.Delete():
			c.Destroy++
			c.Destroys = append(c.Destroys, rc.Address)
		}
		if rc.Change.Importing != nil {
			c.Import++
			c.Imports = append(c.Imports, rc.Address)
		}
		if rc.PreviousAddress != "" && rc.PreviousAddress != rc.Address {
			c.Move++
			c.Moves = append(c.Moves, rc.PreviousAddress+" -> "+rc.Address)
		}
	}
	for _, oc := range plan.OutputChanges {
		if oc != nil && !oc.Actions.NoOp() {
			c.OutputsChanged = true
			break
		}
	}
	for _, rc := range plan.ResourceDrift {
		if rc == nil || rc.Change == nil || rc.Change.Actions.NoOp() {
			continue
		}
		c.Drift = append(c.Drift, rc.Address)
	}
	for _, l := range [][]string{c.Destroys, c.Replaces, c.Moves, c.Imports, c.Drift} {
		sort.Strings(l)
	}
	return c
}

// planLine matches terraform's verdict, with or without imports, e.g.
// "Plan: 1 to import, 2 to add, 0 to change, 1 to destroy."
var planLine = regexp.MustCompile(`^Plan: (\d+ to import, )?\d+ to add, \d+ to change, \d+ to destroy\.`)

// summary returns terraform's one-line verdict from the text of a plan:
// its "Plan: ..." line, or "No changes." when terraform says so. Plans
// that only change outputs or only move resources have no "Plan:" line;
// for those the line is made from c.
func summary(text string, c planbot.Changes) string {
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	noChanges := false
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if m := planLine.FindString(line); m != "" {
			return m
		}
		if strings.HasPrefix(line, "No changes.") {
			noChanges = true
		}
	}
	var parts []string
	if c.Move > 0 {
		parts = append(parts, fmt.Sprintf("%d to move", c.Move))
	}
	if c.Import > 0 {
		parts = append(parts, fmt.Sprintf("%d to import", c.Import))
	}
	if c.OutputsChanged {
		parts = append(parts, "outputs change")
	}
	if len(parts) > 0 {
		return "No resource changes, " + strings.Join(parts, ", ") + "."
	}
	if noChanges {
		return "No changes."
	}
	return ""
}

// sensitiveValues returns the values of the root module's variables that
// are marked sensitive, flattened to strings, so that they can be masked
// wherever they might still appear (an error message, a resource name).
func sensitiveValues(plan *tfjson.Plan) []string {
	if plan == nil || plan.Config == nil || plan.Config.RootModule == nil {
		return nil
	}
	var out []string
	for name, v := range plan.Config.RootModule.Variables {
		if v == nil || !v.Sensitive {
			continue
		}
		if pv, ok := plan.Variables[name]; ok && pv != nil {
			out = appendScalars(out, pv.Value)
		}
	}
	sort.Strings(out)
	return out
}

// appendScalars appends every scalar inside v (a decoded JSON value) as a
// string.
func appendScalars(out []string, v any) []string {
	switch v := v.(type) {
	case string:
		return append(out, v)
	case float64, bool, json.Number:
		return append(out, fmt.Sprint(v))
	case []any:
		for _, e := range v {
			out = appendScalars(out, e)
		}
	case map[string]any:
		for _, e := range v {
			out = appendScalars(out, e)
		}
	}
	return out
}
