package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"
)

// pages are the parsed templates, one per page, each with the layout.
type pages map[string]*template.Template

var funcs = template.FuncMap{
	"short": func(sha string) string {
		if len(sha) > 7 {
			return sha[:7]
		}
		return sha
	},
	"ago":  ago,
	"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"iso":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"duration": func(d time.Duration) string {
		if d <= 0 {
			return "—"
		}
		return d.Round(time.Second).String()
	},
	"join": strings.Join,
}

// ago says how long ago t was, roughly.
func ago(t time.Time) string {
	d := time.Since(t)
	switch {
	case t.IsZero():
		return "never"
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

// parsePages parses every page of templates/ with the layout.
func parsePages() (pages, error) {
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := pages{}
	for _, f := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(f, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.New(name).Funcs(funcs).ParseFS(files, "templates/layout.html", f)
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", name, err)
		}
		p[name] = t
	}
	return p, nil
}

// view is what the layout renders around a page.
type view struct {
	Title string
	// User and CSRF are empty when nobody is logged in.
	User, CSRF string
	Data       any
}

// render writes a page. r is nil for pages shown without a login.
func (h *Handler) render(w http.ResponseWriter, r *request, status int, page, title string, data any) {
	v := view{Title: title, Data: data}
	if r != nil {
		v.User, v.CSRF = r.s.Login, r.csrf
	}
	var b bytes.Buffer
	if err := h.pages[page].ExecuteTemplate(&b, "layout", v); err != nil {
		h.Logger.Error("web: rendering a page", "page", page, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// fail writes an error page with a message for people; details go to
// the log, never to the page.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	h.render(w, nil, status, "message", http.StatusText(status), map[string]any{"Message": msg})
}

// notFound is the answer for anything the user may not see, the same as
// for what does not exist: no trace of a repository they cannot read.
func (h *Handler) notFound(w http.ResponseWriter, r *request) {
	h.render(w, r, http.StatusNotFound, "message", "Not found", map[string]any{"Message": "There is no such page, or you cannot see it."})
}
