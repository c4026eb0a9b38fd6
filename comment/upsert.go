package comment

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
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
	if err := validParts(repo, number, parts); err != nil {
		return err
	}
	_, err := upsertListed(ctx, c, botLogin, repo, number, parts)
	return err
}

// Posted is one part of the plan comment as planbot last wrote it.
type Posted struct {
	// Part is the 1-based part number.
	Part int
	// ID is GitHub's id of the comment.
	ID int64
	// SHA256 is the hex sha256 of the body written.
	SHA256 string
}

// UpsertKnown makes the plan comment equal to parts, as Upsert does, but
// finds planbot's earlier parts in known, as an earlier call returned
// them, instead of listing the pull request's comments: a known part whose
// body is unchanged is not written, a known part is edited by its id, a
// part not known is created, and a known part beyond the render is retired
// with the Unused body. When known holds no part with an id (nothing, or
// only a record that a comment was being created), or an edit answers that the
// comment does not exist (someone deleted it), it lists the comments and
// goes on as Upsert. It returns the parts as they are now posted.
func UpsertKnown(ctx context.Context, c Client, botLogin string, repo planbot.Repo, number int, parts []string, known []Posted) ([]Posted, error) {
	if err := validParts(repo, number, parts); err != nil {
		return nil, err
	}
	byPart := map[int]Posted{}
	for _, p := range known {
		if _, dup := byPart[p.Part]; !dup && p.Part >= 1 && p.ID != 0 {
			byPart[p.Part] = p
		}
	}
	if len(byPart) == 0 {
		return upsertListed(ctx, c, botLogin, repo, number, parts)
	}
	return writeParts(ctx, c, botLogin, repo, number, parts, byPart)
}

// CreateNew posts parts as a new plan comment on pull request number,
// without listing its comments: the caller knows that planbot never
// posted one there (a pull request just opened, for which nothing was
// recorded). It returns the parts as posted.
func CreateNew(ctx context.Context, c Client, repo planbot.Repo, number int, parts []string) ([]Posted, error) {
	if err := validParts(repo, number, parts); err != nil {
		return nil, err
	}
	return writeParts(ctx, c, "", repo, number, parts, nil)
}

// writeParts writes parts over the earlier parts in byPart, by part
// number: it leaves an unchanged one alone, edits a changed one, creates a
// missing one and retires those beyond the render. An earlier part that
// is gone (an edit answers 404) makes it list the comments and go on as
// Upsert.
func writeParts(ctx context.Context, c Client, botLogin string, repo planbot.Repo, number int, parts []string, byPart map[int]Posted) ([]Posted, error) {
	var out []Posted
	write := func(k int, body string) error {
		sum := bodySHA256(body)
		p, ok := byPart[k]
		switch {
		case ok && p.SHA256 == sum:
		case ok:
			if err := c.EditComment(ctx, repo, p.ID, body); err != nil {
				return fmt.Errorf("upsert plan comment on %s#%d: edit part %d (comment %d): %w", repo, number, k, p.ID, err)
			}
		default:
			cm, err := c.CreateComment(ctx, repo, number, body)
			if err != nil {
				return fmt.Errorf("upsert plan comment on %s#%d: create part %d: %w", repo, number, k, err)
			}
			p.ID = cm.ID
		}
		out = append(out, Posted{Part: k, ID: p.ID, SHA256: sum})
		return nil
	}
	for i, body := range parts {
		if err := write(i+1, body); err != nil {
			if planbot.ErrorCode(err) == planbot.ENOTFOUND {
				return upsertListed(ctx, c, botLogin, repo, number, parts)
			}
			return nil, err
		}
	}
	var beyond []int
	for k := range byPart {
		if k > len(parts) {
			beyond = append(beyond, k)
		}
	}
	slices.Sort(beyond)
	for _, k := range beyond {
		if err := write(k, Unused(number, k, len(parts))); err != nil {
			if planbot.ErrorCode(err) == planbot.ENOTFOUND {
				continue // a retired part that is gone needs no retiring
			}
			return nil, err
		}
	}
	return out, nil
}

func bodySHA256(body string) string {
	sum := sha256.Sum256([]byte(body))
	return hex.EncodeToString(sum[:])
}

func validParts(repo planbot.Repo, number int, parts []string) error {
	if len(parts) == 0 {
		return planbot.Errorf(planbot.EINVALID, "upsert plan comment on %s#%d: no parts", repo, number)
	}
	for i, p := range parts {
		if p == "" || utf8.RuneCountInString(p) > DefaultLimit {
			return planbot.Errorf(planbot.EINVALID, "upsert plan comment on %s#%d: part %d is empty or longer than %d characters", repo, number, i+1, DefaultLimit)
		}
	}
	return nil
}

// upsertListed is Upsert after validation; it returns the parts posted,
// retired parts included.
func upsertListed(ctx context.Context, c Client, botLogin string, repo planbot.Repo, number int, parts []string) ([]Posted, error) {
	comments, err := c.ListComments(ctx, repo, number)
	if err != nil {
		return nil, fmt.Errorf("upsert plan comment on %s#%d: list comments: %w", repo, number, err)
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
	var out []Posted
	for i, body := range parts {
		k := i + 1
		if cm, ok := existing[k]; ok {
			out = append(out, Posted{Part: k, ID: cm.ID, SHA256: bodySHA256(body)})
			if cm.Body == body {
				continue
			}
			if err := c.EditComment(ctx, repo, cm.ID, body); err != nil {
				return nil, fmt.Errorf("upsert plan comment on %s#%d: edit part %d (comment %d): %w", repo, number, k, cm.ID, err)
			}
			continue
		}
		cm, err := c.CreateComment(ctx, repo, number, body)
		if err != nil {
			return nil, fmt.Errorf("upsert plan comment on %s#%d: create part %d: %w", repo, number, k, err)
		}
		out = append(out, Posted{Part: k, ID: cm.ID, SHA256: bodySHA256(body)})
	}
	retired := map[int]bool{}
	for _, e := range extra {
		body := Unused(number, e.k, len(parts))
		if e.k > len(parts) && !retired[e.k] {
			// Remembered, so that a later, longer render reuses it.
			retired[e.k] = true
			out = append(out, Posted{Part: e.k, ID: e.c.ID, SHA256: bodySHA256(body)})
		}
		if e.c.Body == body {
			continue
		}
		if err := c.EditComment(ctx, repo, e.c.ID, body); err != nil {
			return nil, fmt.Errorf("upsert plan comment on %s#%d: retire part %d (comment %d): %w", repo, number, e.k, e.c.ID, err)
		}
	}
	slices.SortFunc(out, func(a, b Posted) int { return a.Part - b.Part })
	return out, nil
}
