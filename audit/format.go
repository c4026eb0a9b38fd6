package audit

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"
)

// detailWidth is how many characters of an entry's Detail WriteTable shows.
const detailWidth = 60

// shortSHA is how many hex digits of a SHA WriteTable shows.
const shortSHA = 7

// WriteTable writes entries to w as a table for people: one aligned row per
// entry with its seq, UTC time, repository, PR, short head SHA, project,
// action, actor, outcome, approvers ("login (rule)", comma-separated),
// short plan digest and the start of its detail. Control characters in any
// field are shown as spaces, so a stored value cannot break the layout or
// send escape sequences to a terminal.
func WriteTable(w io.Writer, entries []Entry) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME\tREPO\tPR\tHEAD\tPROJECT\tACTION\tACTOR\tOUTCOME\tAPPROVERS\tPLAN\tDETAIL")
	for _, e := range entries {
		approvers := make([]string, 0, len(e.Approvers))
		for _, a := range e.Approvers {
			if a.Rule == "" {
				approvers = append(approvers, a.Login)
				continue
			}
			approvers = append(approvers, a.Login+" ("+a.Rule+")")
		}
		pr := "-"
		if e.PR != 0 {
			pr = strconv.Itoa(e.PR)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			e.Seq,
			e.Time.UTC().Format(time.RFC3339),
			cell(e.Repo),
			pr,
			cell(short(e.HeadSHA)),
			cell(e.Project),
			cell(e.Action),
			cell(e.Actor),
			cell(e.Outcome),
			cell(strings.Join(approvers, ", ")),
			cell(short(e.PlanSHA256)),
			cell(truncate(e.Detail, detailWidth)),
		)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write audit table: %w", err)
	}
	return nil
}

// cell makes s safe for one table cell: control characters (tabs, newlines,
// escapes) become spaces, and an empty value becomes "-".
func cell(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if s == "" {
		return "-"
	}
	return s
}

// short returns the first shortSHA characters of a hex digest.
func short(sha string) string {
	if len(sha) > shortSHA {
		return sha[:shortSHA]
	}
	return sha
}

// truncate cuts s to at most n characters, marking a cut with "…".
func truncate(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// WriteJSON writes entries to w as JSON lines, one object per entry with
// exactly the fields seq, time, repo, pr, head_sha, base_sha, project,
// action, actor, approvers, outcome, detail, plan_sha256, delivery_id,
// prev_hash and hash. Times are UTC and approvers is [] rather than null.
// This is planbot's export format: ReadJSON reads it back and Verify checks
// the result.
func WriteJSON(w io.Writer, entries []Entry) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for _, e := range entries {
		e.Time = e.Time.UTC()
		if e.Approvers == nil {
			e.Approvers = []Approver{}
		}
		if err := enc.Encode(e); err != nil {
			return fmt.Errorf("write audit entry %d: %w", e.Seq, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write audit entries: %w", err)
	}
	return nil
}

// ReadJSON reads entries written by WriteJSON, in file order. It rejects
// objects with fields the export format does not have, so that a file in
// another format is not mistaken for a (broken) chain.
func ReadJSON(r io.Reader) ([]Entry, error) {
	dec := json.NewDecoder(bufio.NewReader(r))
	dec.DisallowUnknownFields()
	var entries []Entry
	for {
		var e Entry
		err := dec.Decode(&e)
		if errors.Is(err, io.EOF) {
			return entries, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read audit entry %d of the file: %w", len(entries)+1, err)
		}
		entries = append(entries, e)
	}
}
