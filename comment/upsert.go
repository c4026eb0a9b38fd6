package comment

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"unicode/utf8"

	"github.com/planbot/planbot"
)

// Client is the part of GitHub's issue comment API that Upsert uses.
type Client interface {
	ListComments(ctx context.Context, repo planbot.Repo, number int) ([]planbot.Comment, error)
	CreateComment(ctx context.Context, repo planbot.Repo, number int, body string) (planbot.Comment, error)
	EditComment(ctx context.Context, repo planbot.Repo, id int64, body string) error
}

// markerRE matches the marker that starts a part.
var markerRE = regexp.MustCompile(`^<!-- planbot:plan pr=(\d+) part=(\d+) -->`)

// ParseMarker returns the pull request and part number of the marker that
// starts body, and reports whether there is one.
func ParseMarker(body string) (pr, part int, ok bool) {
	m := markerRE.FindStringSubmatch(body)
	if m == nil {
		return 0, 0, false
	}
	pr, err1 := strconv.Atoi(m[1])
	part, err2 := strconv.Atoi(m[2])
	if err1 != nil || err2 != nil || part < 1 {
		return 0, 0, false
	}
	return pr, part, true
}

// Unused returns the body that replaces part k of the plan comment of pull
// request pr when the latest render has only m parts. It keeps the marker,
// so a later, longer render edits the comment again.
func Unused(pr, k, m int) string {
	return fmt.Sprintf("%s\n_planbot: part %d is no longer used; the plan now fits in %s._\n", Marker(pr, k), k, plural(m, "part"))
}

// Upsert makes the plan comment of pull request number equal to parts. It
// finds planbot's earlier parts among the comments whose author is
// botLogin and whose body starts with the marker for this pull request
// (never by text alone), edits part K in place when it exists and differs,
// and creates the missing parts in order. Parts left over from an earlier,
// longer render are not deleted, which would reshape the conversation: they
// are edited to the short Unused body. When two comments carry the same
// part number, the first one is used and the others are treated as
// leftovers.
func Upsert(ctx context.Context, c Client, botLogin string, repo planbot.Repo, number int, parts []string) error {
	if len(parts) == 0 {
		return planbot.Errorf(planbot.EINVALID, "upsert plan comment on %s#%d: no parts", repo, number)
	}
	for i, p := range parts {
		if p == "" || utf8.RuneCountInString(p) > DefaultLimit {
			return planbot.Errorf(planbot.EINVALID, "upsert plan comment on %s#%d: part %d is empty or longer than %d characters", repo, number, i+1, DefaultLimit)
		}
	}
	comments, err := c.ListComments(ctx, repo, number)
	if err != nil {
		return fmt.Errorf("upsert plan comment on %s#%d: list comments: %w", repo, number, err)
	}
	existing := map[int]planbot.Comment{}
	var extra []struct {
		k int
		c planbot.Comment
	}
	for _, cm := range comments {
		if cm.User != botLogin || botLogin == "" {
			continue
		}
		pr, k, ok := ParseMarker(cm.Body)
		if !ok || pr != number {
			continue
		}
		if _, dup := existing[k]; dup || k > len(parts) {
			extra = append(extra, struct {
				k int
				c planbot.Comment
			}{k, cm})
			continue
		}
		existing[k] = cm
	}
	for i, body := range parts {
		k := i + 1
		if cm, ok := existing[k]; ok {
			if cm.Body == body {
				continue
			}
			if err := c.EditComment(ctx, repo, cm.ID, body); err != nil {
				return fmt.Errorf("upsert plan comment on %s#%d: edit part %d (comment %d): %w", repo, number, k, cm.ID, err)
			}
			continue
		}
		if _, err := c.CreateComment(ctx, repo, number, body); err != nil {
			return fmt.Errorf("upsert plan comment on %s#%d: create part %d: %w", repo, number, k, err)
		}
	}
	for _, e := range extra {
		body := Unused(number, e.k, len(parts))
		if e.c.Body == body {
			continue
		}
		if err := c.EditComment(ctx, repo, e.c.ID, body); err != nil {
			return fmt.Errorf("upsert plan comment on %s#%d: retire part %d (comment %d): %w", repo, number, e.k, e.c.ID, err)
		}
	}
	return nil
}
