// Package statetest serves Terraform state over the protocol of
// terraform's built-in http backend, for tests.
//
// The model: one Server holds any number of named states in memory. A
// state called NAME lives at /state/NAME: GET returns it (404 when there
// is none), POST replaces it and DELETE removes it. /lock/NAME takes
// terraform's LOCK and UNLOCK methods; a second LOCK while the state is
// locked answers 423 with the holder's lock info, as the protocol wants.
// Backend returns the backend block that points a root at a state. The
// http backend has no workspaces, which is the point of testing with it.
//
// The server listens on 127.0.0.1 only and stops when the test ends.
package statetest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Server is an in-memory Terraform state server.
type Server struct {
	t   testing.TB
	srv *httptest.Server

	// mu guards the fields below.
	mu     sync.Mutex
	states map[string][]byte
	locks  map[string][]byte
	writes map[string]int
}

// New starts a state server on 127.0.0.1 that stops when t ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, states: map[string][]byte{}, locks: map[string][]byte{}, writes: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/state/{name}", s.state)
	mux.HandleFunc("/lock/{name}", s.lock)
	s.srv = httptest.NewServer(mux) // httptest listens on 127.0.0.1
	t.Cleanup(s.srv.Close)
	return s
}

// URL returns the address of the state called name.
func (s *Server) URL(name string) string { return s.srv.URL + "/state/" + name }

// Backend returns a terraform block that keeps a root's state in the
// state called name.
func (s *Server) Backend(name string) string {
	lock := s.srv.URL + "/lock/" + name
	return fmt.Sprintf(`terraform {
  backend "http" {
    address        = %q
    lock_address   = %q
    unlock_address = %q
  }
}
`, s.URL(name), lock, lock)
}

// State returns the raw state called name, nil when there is none.
func (s *Server) State(name string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.states[name])
}

// Writes returns how many times terraform wrote the state called name.
func (s *Server) Writes(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes[name]
}

// WriterVersion returns the version of the binary that last wrote the
// state called name (its terraform_version field: terraform and OpenTofu
// both write their own version there), "" when there is none.
func (s *Server) WriterVersion(name string) string {
	var st struct {
		Version string `json:"terraform_version"`
	}
	if raw := s.State(name); len(raw) > 0 {
		if err := json.Unmarshal(raw, &st); err != nil {
			s.t.Fatalf("statetest: state %s: %v", name, err)
		}
	}
	return st.Version
}

// Resources returns the addresses of the managed resources in the state
// called name, such as "terraform_data.a" or "module.m.terraform_data.b",
// sorted. A resource whose instances are all gone is not listed.
func (s *Server) Resources(name string) []string {
	s.t.Helper()
	raw := s.State(name)
	if len(raw) == 0 {
		return nil
	}
	var st struct {
		Resources []struct {
			Module    string            `json:"module"`
			Mode      string            `json:"mode"`
			Type      string            `json:"type"`
			Name      string            `json:"name"`
			Instances []json.RawMessage `json:"instances"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		s.t.Fatalf("statetest: state %s: %v", name, err)
	}
	var out []string
	for _, r := range st.Resources {
		if r.Mode != "managed" || len(r.Instances) == 0 {
			continue
		}
		addr := r.Type + "." + r.Name
		if r.Module != "" {
			addr = r.Module + "." + addr
		}
		out = append(out, addr)
	}
	slices.Sort(out)
	return out
}

func (s *Server) state(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.Method {
	case http.MethodGet:
		b, ok := s.states[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	case http.MethodPost:
		// A locked state may only be written by the lock's holder, who
		// names its lock ID in the query.
		if held, ok := s.locks[name]; ok && !strings.Contains(string(held), r.URL.Query().Get("ID")) {
			http.Error(w, "state is locked by another client", http.StatusConflict)
			return
		}
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.states[name] = b
		s.writes[name]++
		w.WriteHeader(http.StatusOK)
	case http.MethodDelete:
		delete(s.states, name)
		w.WriteHeader(http.StatusOK)
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (s *Server) lock(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	b, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.Method {
	case "LOCK":
		if held, ok := s.locks[name]; ok {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusLocked)
			w.Write(held)
			return
		}
		s.locks[name] = b
		w.WriteHeader(http.StatusOK)
	case "UNLOCK":
		delete(s.locks, name)
		w.WriteHeader(http.StatusOK)
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}
