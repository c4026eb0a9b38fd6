package comment

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/planbot/planbot"
	"github.com/planbot/planbot/redact/redacttest"
)

// fakeGitHub keeps the comments of pull requests in memory and enforces
// GitHub's body limit: a body over 65,536 characters is rejected like the
// API's 422 "Body is too long (maximum is 65536 characters)".
type fakeGitHub struct {
	login    string // the author of the comments it creates
	comments map[int][]planbot.Comment
	nextID   int64
	creates  int
	edits    int
	lists    int
	listErr  error
}

func newFakeGitHub(login string) *fakeGitHub {
	return &fakeGitHub{login: login, comments: map[int][]planbot.Comment{}, nextID: 1000}
}

var errTooLong = errors.New("422 Validation Failed: Body is too long (maximum is 65536 characters)")

func checkBody(body string) error {
	if utf8.RuneCountInString(body) > 65536 {
		return errTooLong
	}
	if strings.TrimSpace(body) == "" {
		return errors.New("422 Validation Failed: body cannot be blank")
	}
	return nil
}

func (f *fakeGitHub) ListComments(ctx context.Context, repo planbot.Repo, number int) ([]planbot.Comment, error) {
	f.lists++
	if f.listErr != nil {
		return nil, f.listErr
	}
	return append([]planbot.Comment(nil), f.comments[number]...), nil
}

func (f *fakeGitHub) CreateComment(ctx context.Context, repo planbot.Repo, number int, body string) (planbot.Comment, error) {
	if err := checkBody(body); err != nil {
		return planbot.Comment{}, err
	}
	f.creates++
	f.nextID++
	c := planbot.Comment{ID: f.nextID, User: f.login, Body: body}
	f.comments[number] = append(f.comments[number], c)
	return c, nil
}

func (f *fakeGitHub) EditComment(ctx context.Context, repo planbot.Repo, id int64, body string) error {
	if err := checkBody(body); err != nil {
		return err
	}
	for n, cs := range f.comments {
		for i := range cs {
			if cs[i].ID == id {
				if cs[i].User != f.login {
					return errors.New("403 cannot edit another user's comment")
				}
				f.edits++
				f.comments[n][i].Body = body
				return nil
			}
		}
	}
	return planbot.Errorf(planbot.ENOTFOUND, "404 Not Found")
}

// remove deletes the comment id, as a person can.
func (f *fakeGitHub) remove(id int64) {
	for n, cs := range f.comments {
		for i := range cs {
			if cs[i].ID == id {
				f.comments[n] = append(cs[:i:i], cs[i+1:]...)
				return
			}
		}
	}
}

// add puts a comment written by user on pull request number.
func (f *fakeGitHub) add(number int, user, body string) {
	f.nextID++
	f.comments[number] = append(f.comments[number], planbot.Comment{ID: f.nextID, User: user, Body: body})
}

func (f *fakeGitHub) bodies(number int) []string {
	var out []string
	for _, c := range f.comments[number] {
		out = append(out, c.Body)
	}
	return out
}

func parts(pr int, bodies ...string) []string {
	var out []string
	for i, b := range bodies {
		out = append(out, Marker(pr, i+1)+"\n"+b+"\n")
	}
	return out
}

func TestUpsert(t *testing.T) {
	ctx := context.Background()
	const bot = "planbot[bot]"
	f := newFakeGitHub(bot)
	f.add(7, "alice", "/plan")

	step := func(name string, ps []string, wantBodies []string, wantCreates, wantEdits int) {
		t.Helper()
		c0, e0 := f.creates, f.edits
		if err := Upsert(ctx, f, bot, testRepo, 7, ps); err != nil {
			t.Fatalf("%s: Upsert: %v", name, err)
		}
		if diff := cmp.Diff(f.bodies(7), wantBodies); diff != "" {
			t.Errorf("%s: comments (-got +want):\n%s", name, diff)
		}
		if got := [2]int{f.creates - c0, f.edits - e0}; got != [2]int{wantCreates, wantEdits} {
			t.Errorf("%s: (creates, edits) = %v, want (%d, %d)", name, got, wantCreates, wantEdits)
		}
	}

	three := parts(7, "a", "b", "c")
	step("first render creates the parts in order", three, append([]string{"/plan"}, three...), 3, 0)
	step("the same render writes nothing", three, append([]string{"/plan"}, three...), 0, 0)

	f.add(7, "bob", "/apply")
	one := parts(7, "a2")
	step("a shorter render edits part 1 and retires the others", one,
		[]string{"/plan", one[0], Unused(7, 2, 1), Unused(7, 3, 1), "/apply"}, 0, 3)
	step("retired parts are not edited again", one,
		[]string{"/plan", one[0], Unused(7, 2, 1), Unused(7, 3, 1), "/apply"}, 0, 0)

	four := parts(7, "w", "x", "y", "z")
	step("a longer render reuses the retired parts and appends", four,
		[]string{"/plan", four[0], four[1], four[2], "/apply", four[3]}, 1, 3)
}

// TestUpsertKnown replays TestUpsert's renders with the parts remembered
// between calls: the result is the same, and no call lists the comments
// except the first and the one after a part was deleted.
func TestUpsertKnown(t *testing.T) {
	ctx := context.Background()
	const bot = "planbot[bot]"
	f := newFakeGitHub(bot)
	f.add(7, "alice", "/plan")
	var known []Posted

	step := func(name string, ps []string, wantBodies []string, wantCreates, wantEdits, wantLists int) {
		t.Helper()
		c0, e0, l0 := f.creates, f.edits, f.lists
		var err error
		if known, err = UpsertKnown(ctx, f, bot, testRepo, 7, ps, known); err != nil {
			t.Fatalf("%s: UpsertKnown: %v", name, err)
		}
		if diff := cmp.Diff(f.bodies(7), wantBodies); diff != "" {
			t.Errorf("%s: comments (-got +want):\n%s", name, diff)
		}
		if got := [3]int{f.creates - c0, f.edits - e0, f.lists - l0}; got != [3]int{wantCreates, wantEdits, wantLists} {
			t.Errorf("%s: (creates, edits, lists) = %v, want (%d, %d, %d)", name, got, wantCreates, wantEdits, wantLists)
		}
	}

	three := parts(7, "a", "b", "c")
	step("first render lists once and creates the parts", three, append([]string{"/plan"}, three...), 3, 0, 1)
	step("the same render writes nothing", three, append([]string{"/plan"}, three...), 0, 0, 0)

	f.add(7, "bob", "/apply")
	one := parts(7, "a2")
	step("a shorter render edits part 1 and retires the others", one,
		[]string{"/plan", one[0], Unused(7, 2, 1), Unused(7, 3, 1), "/apply"}, 0, 3, 0)
	step("retired parts are not edited again", one,
		[]string{"/plan", one[0], Unused(7, 2, 1), Unused(7, 3, 1), "/apply"}, 0, 0, 0)

	four := parts(7, "w", "x", "y", "z")
	step("a longer render reuses the retired parts and appends", four,
		[]string{"/plan", four[0], four[1], four[2], "/apply", four[3]}, 1, 3, 0)

	// Someone deletes part 1: its edit answers 404, and the comments are
	// listed to find the rest.
	f.remove(known[0].ID)
	again := parts(7, "w2", "x", "y", "z")
	step("a deleted part is found missing and created again", again,
		[]string{"/plan", four[1], four[2], "/apply", four[3], again[0]}, 1, 0, 1)
	if len(known) != 4 || known[0].ID == 0 || known[0].Part != 1 {
		t.Fatalf("known after the fallback = %+v, want 4 parts", known)
	}
	step("the parts are known again", again,
		[]string{"/plan", four[1], four[2], "/apply", four[3], again[0]}, 0, 0, 0)
}

func TestUpsertFindsOnlyItsOwnComments(t *testing.T) {
	ctx := context.Background()
	const bot = "planbot[bot]"
	f := newFakeGitHub(bot)
	spoof := Marker(7, 1) + "\nmallory's fake plan\n"
	f.add(7, "mallory", spoof)                                   // marker, wrong author
	f.add(7, bot, "planbot says hi; "+Marker(7, 1))              // author, marker not at the start
	f.add(7, bot, Marker(8, 1)+"\nplan of another pull request") // another PR's marker
	before := f.bodies(7)

	ps := parts(7, "real")
	if err := Upsert(ctx, f, bot, testRepo, 7, ps); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(f.bodies(7), append(before, ps[0])); diff != "" {
		t.Errorf("comments (-got +want):\n%s", diff)
	}
}

func TestUpsertDuplicateParts(t *testing.T) {
	ctx := context.Background()
	const bot = "planbot[bot]"
	f := newFakeGitHub(bot)
	f.add(7, bot, Marker(7, 1)+"\nold")
	f.add(7, bot, Marker(7, 1)+"\nrace")
	ps := parts(7, "new")
	if err := Upsert(ctx, f, bot, testRepo, 7, ps); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(f.bodies(7), []string{ps[0], Unused(7, 1, 1)}); diff != "" {
		t.Errorf("comments (-got +want):\n%s", diff)
	}
}

func TestUpsertErrors(t *testing.T) {
	ctx := context.Background()
	const bot = "planbot[bot]"
	for _, tc := range []struct {
		name     string
		parts    []string
		listErr  error
		wantCode string
	}{
		{name: "no parts", parts: nil, wantCode: planbot.EINVALID},
		{name: "empty part", parts: []string{""}, wantCode: planbot.EINVALID},
		{name: "part too long", parts: []string{Marker(7, 1) + strings.Repeat("é", 65536)}, wantCode: planbot.EINVALID},
		{name: "list fails", parts: parts(7, "a"), listErr: errors.New("502 Bad Gateway"), wantCode: planbot.EINTERNAL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeGitHub(bot)
			f.listErr = tc.listErr
			err := Upsert(ctx, f, bot, testRepo, 7, tc.parts)
			if got := planbot.ErrorCode(err); got != tc.wantCode {
				t.Errorf("ErrorCode(%v) = %q, want %q", err, got, tc.wantCode)
			}
			if tc.listErr != nil && !errors.Is(err, tc.listErr) {
				t.Errorf("error %v does not wrap %v", err, tc.listErr)
			}
			if f.creates+f.edits != 0 {
				t.Errorf("Upsert wrote %d comments after an error", f.creates+f.edits)
			}
		})
	}
}

// TestRenderUpsertHugePlan posts a render of a 10 MB plan through the fake,
// which rejects any body GitHub would reject.
func TestRenderUpsertHugePlan(t *testing.T) {
	ctx := context.Background()
	const bot = "planbot[bot]"
	f := newFakeGitHub(bot)
	r := report(tfResult("envs/huge", redacttest.Plan(10<<20)), tfResult("envs/small", createOnly))
	// Many runes per byte, so a byte-based limit would fail.
	r.Results[0].Output = strings.ReplaceAll(r.Results[0].Output, "logs", "łøğś✓")
	ps := Render(r, Options{})
	if err := Upsert(ctx, f, bot, testRepo, 7, ps); err != nil {
		t.Fatal(err)
	}
	if got := len(f.comments[7]); got != len(ps) || got < 2 {
		t.Errorf("%d comments posted for %d parts, want at least 2", got, len(ps))
	}
	for i, c := range f.comments[7] {
		if pr, k, ok := ParseMarker(c.Body); !ok || pr != 7 || k != i+1 {
			t.Errorf("comment %d has marker (%d, %d, %v), want (7, %d, true)", i, pr, k, ok, i+1)
		}
	}
}

func TestParseMarker(t *testing.T) {
	for _, tc := range []struct {
		name     string
		body     string
		pr, part int
		ok       bool
	}{
		{name: "part 1", body: Marker(7, 1) + "\n## ✅", pr: 7, part: 1, ok: true},
		{name: "part 12", body: Marker(123, 12), pr: 123, part: 12, ok: true},
		{name: "not at start", body: "x" + Marker(7, 1)},
		{name: "part 0", body: "<!-- planbot:plan pr=7 part=0 -->"},
		{name: "other marker", body: "<!-- atlantis:plan pr=7 part=1 -->"},
		{name: "empty", body: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pr, part, ok := ParseMarker(tc.body)
			got := fmt.Sprint(pr, part, ok)
			if diff := cmp.Diff(got, fmt.Sprint(tc.pr, tc.part, tc.ok)); diff != "" {
				t.Errorf("ParseMarker(%q) (-got +want):\n%s", tc.body, diff)
			}
		})
	}
}

// TestCreateNew posts every part without listing the comments; UpsertKnown
// given only a record without an id (a creation that may have failed
// half-way) lists them and edits what the creation wrote, posting nothing
// twice.
func TestCreateNew(t *testing.T) {
	ctx := context.Background()
	const bot = "planbot[bot]"
	repo := planbot.Repo{Owner: "acme", Name: "infra"}
	f := newFakeGitHub(bot)
	parts := []string{Marker(7, 1) + "\none", Marker(7, 2) + "\ntwo"}
	posted, err := CreateNew(ctx, f, repo, 7, parts)
	if err != nil {
		t.Fatal(err)
	}
	if f.lists != 0 || f.creates != 2 || len(posted) != 2 || posted[0].ID == 0 || posted[1].ID == 0 {
		t.Fatalf("CreateNew: %d lists, %d creates, posted %v; want 0 lists, 2 creates", f.lists, f.creates, posted)
	}
	if _, err := CreateNew(ctx, f, repo, 7, nil); planbot.ErrorCode(err) != planbot.EINVALID {
		t.Errorf("CreateNew of no parts: %v, want EINVALID", err)
	}

	again := []string{Marker(7, 1) + "\nONE", Marker(7, 2) + "\ntwo"}
	got, err := UpsertKnown(ctx, f, bot, repo, 7, again, []Posted{{Part: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if f.lists != 1 || f.creates != 2 || f.edits != 1 {
		t.Errorf("UpsertKnown after an id-less record: %d lists, %d creates, %d edits; want 1, 2, 1", f.lists, f.creates, f.edits)
	}
	if diff := cmp.Diff(got, []Posted{{Part: 1, ID: posted[0].ID, SHA256: bodySHA256(again[0])}, {Part: 2, ID: posted[1].ID, SHA256: bodySHA256(again[1])}}); diff != "" {
		t.Errorf("posted (-got +want):\n%s", diff)
	}
}
