package githubfake_test

import (
	"net/http"
	"testing"
	"time"

	jwt "github.com/golang-jwt/jwt/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/planbot/planbot/githubfake"
)

func signJWT(t *testing.T, s *githubfake.Server, claims jwt.MapClaims) string {
	t.Helper()
	key, err := jwt.ParseRSAPrivateKeyFromPEM(s.PrivateKeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestJWT(t *testing.T) {
	s := githubfake.New(t)
	now := time.Now().Unix()
	other, err := jwt.ParseRSAPrivateKeyFromPEM(githubfake.New(t).PrivateKeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	foreign, _ := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iat": now - 60, "exp": now + 540, "iss": s.AppID()}).SignedString(other)
	tests := []struct {
		name       string
		jwt        string
		wantStatus int
		wantMsg    string
	}{
		{name: "numeric iss", jwt: signJWT(t, s, jwt.MapClaims{"iat": now - 60, "exp": now + 540, "iss": s.AppID()}), wantStatus: 200},
		{name: "string iss", jwt: signJWT(t, s, jwt.MapClaims{"iat": now - 60, "exp": now + 540, "iss": "4242"}), wantStatus: 200},
		{name: "client id iss", jwt: signJWT(t, s, jwt.MapClaims{"iat": now - 60, "exp": now + 540, "iss": s.ClientID()}), wantStatus: 200},
		{name: "exp too far", jwt: signJWT(t, s, jwt.MapClaims{"iat": now - 60, "exp": now + 700, "iss": s.AppID()}), wantStatus: 401, wantMsg: "'Expiration time' claim ('exp') is too far in the future"},
		{name: "expired", jwt: signJWT(t, s, jwt.MapClaims{"iat": now - 900, "exp": now - 300, "iss": s.AppID()}), wantStatus: 401, wantMsg: "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"},
		{name: "iat in future", jwt: signJWT(t, s, jwt.MapClaims{"iat": now + 120, "exp": now + 540, "iss": s.AppID()}), wantStatus: 401, wantMsg: "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"},
		{name: "no iat", jwt: signJWT(t, s, jwt.MapClaims{"exp": now + 540, "iss": s.AppID()}), wantStatus: 401, wantMsg: "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"},
		{name: "other key", jwt: foreign, wantStatus: 401, wantMsg: "A JSON web token could not be decoded"},
		{name: "garbage", jwt: "not.a.jwt", wantStatus: 401, wantMsg: "A JSON web token could not be decoded"},
		{name: "wrong app", jwt: signJWT(t, s, jwt.MapClaims{"iat": now - 60, "exp": now + 540, "iss": "1"}), wantStatus: 401, wantMsg: "Integration not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, "GET", s.APIURL()+"app", tt.jwt, nil)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d (%v)", resp.StatusCode, tt.wantStatus, body)
			}
			if tt.wantStatus == 200 {
				if body["slug"] != "planbot" || body["id"] != float64(s.AppID()) {
					t.Errorf("app = %v", body)
				}
				return
			}
			if body["message"] != tt.wantMsg {
				t.Errorf("message = %q, want %q", body["message"], tt.wantMsg)
			}
		})
	}
}

func TestTokens(t *testing.T) {
	s, c := setup(t)
	ctx := t.Context()
	// ghinstallation gets a token through POST /app/installations/7/access_tokens.
	repo, _, err := c.Repositories.Get(ctx, "ACME", "Infra")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]any{repo.GetFullName(), repo.GetCloneURL(), repo.GetDefaultBranch()}, []any{repoName, s.URL() + "/git/acme/infra.git", "main"}); diff != "" {
		t.Errorf("repo (-got +want):\n%s", diff)
	}
	var created bool
	for _, r := range s.Requests() {
		if r.Method == "POST" && r.Path == "/app/installations/7/access_tokens" {
			created = true
		}
	}
	if !created {
		t.Errorf("no token request in %v", s.Requests())
	}

	tok := s.InstallationToken(installID)
	if resp, _ := do(t, "GET", s.APIURL()+"repos/acme/infra", tok, nil); resp.StatusCode != 200 {
		t.Fatalf("fresh token: status %d", resp.StatusCode)
	}
	for _, h := range []string{"X-Ratelimit-Limit", "X-Ratelimit-Remaining", "X-Ratelimit-Used", "X-Ratelimit-Reset", "X-Ratelimit-Resource"} {
		resp, _ := do(t, "GET", s.APIURL()+"repos/acme/infra", tok, nil)
		if resp.Header.Get(h) == "" {
			t.Errorf("missing %s", h)
		}
	}
	resp, body := do(t, "GET", s.APIURL()+"repos/acme/other", tok, nil)
	if resp.StatusCode != 404 || body["message"] != "Not Found" {
		t.Errorf("repo outside installation: %d %v", resp.StatusCode, body)
	}
	resp, body = do(t, "GET", s.APIURL()+"repos/acme/infra", "ghs_unknown", nil)
	if resp.StatusCode != 401 || body["message"] != "Bad credentials" {
		t.Errorf("unknown token: %d %v", resp.StatusCode, body)
	}
	s.Advance(61 * time.Minute)
	resp, body = do(t, "GET", s.APIURL()+"repos/acme/infra", tok, nil)
	if resp.StatusCode != 401 || body["message"] != "Bad credentials" {
		t.Errorf("expired token: %d %v", resp.StatusCode, body)
	}
	// Without a User-Agent GitHub answers 403.
	req, _ := http.NewRequestWithContext(ctx, "GET", s.APIURL()+"repos/acme/infra", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("User-Agent", "")
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 403 {
		t.Errorf("no User-Agent: status %d, want 403", r.StatusCode)
	}
	if resp, body := do(t, "GET", s.APIURL()+"nope", tok, nil); resp.StatusCode != 404 || body["message"] != "Not Found" {
		t.Errorf("unknown route: %d %v", resp.StatusCode, body)
	}
}

func TestPermissionsAndTeams(t *testing.T) {
	s, c := setup(t)
	ctx := t.Context()
	for _, r := range []string{"admin", "maintain", "write", "triage", "read"} {
		s.SetCollaborator(repoName, "u-"+r, r)
	}
	s.AddTeamMember("acme", "infra", "carol")
	s.SetTeamMembership("acme", "infra", "dave", "member", "pending")
	tests := []struct {
		name     string
		user     string
		wantPerm string
		wantRole string
		wantCode int
	}{
		{name: "admin", user: "u-admin", wantPerm: "admin", wantRole: "admin", wantCode: 200},
		{name: "maintain", user: "U-Maintain", wantPerm: "write", wantRole: "maintain", wantCode: 200},
		{name: "write", user: "u-write", wantPerm: "write", wantRole: "write", wantCode: 200},
		{name: "triage", user: "u-triage", wantPerm: "read", wantRole: "triage", wantCode: 200},
		{name: "read", user: "u-read", wantPerm: "read", wantRole: "read", wantCode: 200},
		{name: "known non-collaborator", user: "carol", wantPerm: "none", wantRole: "none", wantCode: 200},
		{name: "unknown", user: "ghost", wantCode: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, resp, _ := c.Repositories.GetPermissionLevel(ctx, "acme", "infra", tt.user)
			if resp.StatusCode != tt.wantCode {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantCode)
			}
			if tt.wantCode != 200 {
				return
			}
			if diff := cmp.Diff([]string{p.GetPermission(), p.GetUser().GetRoleName()}, []string{tt.wantPerm, tt.wantRole}); diff != "" {
				t.Errorf("(-got +want):\n%s", diff)
			}
		})
	}
	m, _, err := c.Teams.GetTeamMembershipBySlug(ctx, "acme", "infra", "carol")
	if err != nil || m.GetState() != "active" {
		t.Errorf("carol: %v %v", m, err)
	}
	m, _, err = c.Teams.GetTeamMembershipBySlug(ctx, "acme", "infra", "dave")
	if err != nil || m.GetState() != "pending" {
		t.Errorf("dave: %v %v", m, err)
	}
	if _, resp, _ := c.Teams.GetTeamMembershipBySlug(ctx, "acme", "infra", "erin"); resp.StatusCode != 404 {
		t.Errorf("erin: %d", resp.StatusCode)
	}
}
