package server

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/planbot/planbot/githubfake"
)

// stealRoot is a Terraform root that reads path with file(), filebase64()
// and fileset(), as a pull request author who wants planbot's secrets
// would.
func stealRoot(path string) string {
	return fmt.Sprintf(`output "plain" {
  value = file(%[1]q)
}

output "encoded" {
  value = filebase64(%[1]q)
}

output "listing" {
  value = fileset(%[2]q, "*")
}
`, path, filepath.Dir(path))
}

// everythingWritten returns every comment body, status description, log
// line and stored byte of the server e: all that a secret must never
// reach.
func everythingWritten(t *testing.T, gh *githubfake.Server, e *testEnv, prs []int, shas []string) string {
	t.Helper()
	var b strings.Builder
	for _, n := range prs {
		for _, c := range gh.CommentHistory(testRepo, n) {
			b.WriteString(c.Body + "\n")
		}
	}
	for _, sha := range shas {
		for _, s := range gh.Statuses(testRepo, sha) {
			b.WriteString(s.Description + "\n")
		}
	}
	b.WriteString(e.logs.String())
	for _, suffix := range []string{"", "-wal"} {
		if data, err := os.ReadFile(filepath.Join(e.dataDir, "planbot.db"+suffix)); err == nil {
			b.Write(data)
		}
	}
	return b.String()
}

// TestSandboxKeepsSecretsFromPlans opens a pull request whose Terraform
// reads, one root per target, the App key, the webhook secret file, the
// database, planbot's own /proc environ and another open pull request's
// saved plan. With the sandbox on every read fails, the plan is reported
// failed with terraform's error, and none of those bytes appear in any
// comment, status, log line or stored row.
func TestSandboxKeepsSecretsFromPlans(t *testing.T) {
	forEachEngine(t, testSandboxKeepsSecretsFromPlans)
}

func testSandboxKeepsSecretsFromPlans(t *testing.T, eng testEngine) {
	gh := newFake(t)
	dataDir := t.TempDir()
	keyFile := gh.WritePrivateKey()
	secretFile := writeSecret(t, "webhook-secret", testSecret+"\n")
	e := eng.start(t, gh, dataDir, "--github-app-key-file="+keyFile, "--webhook-secret-file="+secretFile)

	// Another pull request, planned first: its saved plan is a target.
	sha1, victim := renameDev(gh, "victim", "dev-2")
	e.waitJob(e.deliver("pull_request", gh.PullRequestEvent("opened", testRepo, victim.Number), http.StatusAccepted))
	if got := waitStatus(t, gh, sha1, "planbot/plan"); got != "success" {
		t.Fatalf("victim plan = %s", got)
	}
	plans, _ := filepath.Glob(filepath.Join(dataDir, "workspaces", "*", "*", "pr-*", "*", "*", "envs", "dev", "planbot.tfplan"))
	if len(plans) != 1 {
		t.Fatalf("victim's saved plan: found %v", plans)
	}
	planBytes, err := os.ReadFile(plans[0])
	if err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}

	targets := map[string]string{
		"key":     keyFile,
		"secret":  secretFile,
		"db":      filepath.Join(dataDir, "planbot.db"),
		"environ": fmt.Sprintf("/proc/%d/environ", os.Getpid()),
		"plan":    plans[0],
	}
	files := map[string]string{}
	for name, path := range targets {
		files["steal/"+name+"/main.tf"] = stealRoot(path)
	}
	sha2 := gh.Commit(testRepo, "attack", files, nil, "read planbot's secrets")
	attack := gh.OpenPR(testRepo, "attack", "main", "mallory", "Innocent change")
	e.waitJob(e.deliver("pull_request", gh.PullRequestEvent("opened", testRepo, attack.Number), http.StatusAccepted))
	if got := waitStatus(t, gh, sha2, "planbot/plan"); got != "failure" {
		t.Fatalf("planbot/plan of the attack = %s, want failure", got)
	}
	c := planComment(t, gh, attack.Number)
	for name, path := range targets {
		if !strings.Contains(c.Body, "steal/"+name) {
			t.Errorf("comment lacks project steal/%s", name)
		}
		if !strings.Contains(c.Body, path) {
			t.Errorf("comment lacks terraform's error about %s", path)
		}
	}
	// terraform wraps its messages, so "permission" and "denied" may be
	// on two lines.
	if n := strings.Count(strings.ToLower(c.Body), "permission"); n < len(targets) {
		t.Errorf("comment names %d permission errors, want at least %d:\n%s", n, len(targets), c.Body)
	}

	written := everythingWritten(t, gh, e, []int{victim.Number, attack.Number}, []string{sha1, sha2})
	secrets := map[string]string{
		"key":            strings.TrimSpace(string(key)),
		"key (base64)":   base64.StdEncoding.EncodeToString(key)[:200],
		"secret":         testSecret,
		"secret base64":  base64.StdEncoding.EncodeToString([]byte(testSecret + "\n")),
		"environ base64": base64.StdEncoding.EncodeToString(environ)[:200],
		"plan base64":    base64.StdEncoding.EncodeToString(planBytes)[:200],
	}
	// The environ's first entries, plain.
	for i, kv := range strings.Split(string(environ), "\x00") {
		if len(kv) > 12 && i < 5 && !strings.HasPrefix(kv, "PATH=") && !strings.HasPrefix(kv, "HOME=") {
			secrets[fmt.Sprintf("environ entry %d", i)] = kv
		}
	}
	for name, s := range secrets {
		if strings.Contains(written, s) {
			t.Errorf("the %s reached a comment, status, log or the database", name)
		}
	}
}

// TestSandboxOffLetsPlansReadSecrets is the control: with --sandbox=off
// the same read of the App key succeeds, and the comment footer says the
// plan ran unsandboxed.
func TestSandboxOffLetsPlansReadSecrets(t *testing.T) {
	gh := newFake(t)
	keyFile := gh.WritePrivateKey()
	e := startServer(t, gh, t.TempDir(), "--github-app-key-file="+keyFile, "--sandbox=off")
	sha := gh.Commit(testRepo, "attack", map[string]string{"steal/key/main.tf": stealRoot(keyFile)}, nil, "read the key")
	pr := gh.OpenPR(testRepo, "attack", "main", "mallory", "Innocent change")
	e.waitJob(e.deliver("pull_request", gh.PullRequestEvent("opened", testRepo, pr.Number), http.StatusAccepted))
	if got := waitStatus(t, gh, sha, "planbot/plan"); got != "success" {
		t.Fatalf("planbot/plan = %s, want success", got)
	}
	key, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	c := planComment(t, gh, pr.Number)
	if !strings.Contains(c.Body, base64.StdEncoding.EncodeToString(key)[:200]) {
		t.Errorf("unsandboxed, the key read did not show; the sandbox test proves nothing:\n%s", c.Body)
	}
	mustContain(t, c.Body, "unsandboxed", "--sandbox=off")
}

// TestPlanAndApplyCredentials gives plans and applies different values of
// one variable from --credentials-dir: the plan sees the plan value only,
// the apply's environment holds the apply value only, and neither value
// appears unmasked in any comment.
func TestPlanAndApplyCredentials(t *testing.T) {
	gh := newFake(t)
	e := startServer(t, gh, t.TempDir(), "--credentials-dir="+credentialsDir(t, "plan-secret", "apply-secret"))

	// The plan shows the token itself (masked) and its digest (which
	// masking cannot touch): the digest says which value the plan saw.
	pr := e.openPlanned("creds", "carol", map[string]string{"envs/creds/main.tf": `variable "token" {
  type = string
}

output "token" {
  value = var.token
}

output "token_sha" {
  value = sha256(var.token)
}

resource "terraform_data" "dump" {
  provisioner "local-exec" {
    command = "env > ${path.module}/apply-env.txt"
  }
}
`}, "success")
	c := planComment(t, gh, pr.Number)
	mustContain(t, c.Body, sha256Hex("plan-secret"))
	if strings.Contains(c.Body, sha256Hex("apply-secret")) {
		t.Errorf("the plan saw the apply credentials:\n%s", c.Body)
	}

	gh.SubmitReview(testRepo, pr.Number, "dave", "APPROVED", pr.HeadSHA)
	reply := e.command(pr.Number, "bob", "/apply")
	if !strings.Contains(reply, "applied") {
		t.Fatalf("apply reply:\n%s", reply)
	}
	dumps, _ := filepath.Glob(filepath.Join(e.dataDir, "workspaces", "*", "*", "pr-*", "*", "*", "envs", "creds", "apply-env.txt"))
	if len(dumps) != 1 {
		t.Fatalf("apply's environment dump: found %v", dumps)
	}
	env, err := os.ReadFile(dumps[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(env), "TF_VAR_token=apply-secret\n") || strings.Contains(string(env), "plan-secret") {
		t.Errorf("apply environment: want the apply value only:\n%s", env)
	}
	for _, cm := range gh.CommentHistory(testRepo, pr.Number) {
		for _, v := range []string{"plan-secret", "apply-secret"} {
			if strings.Contains(cm.Body, v) {
				t.Errorf("a comment shows %s unmasked:\n%s", v, cm.Body)
			}
		}
	}
	if strings.Contains(e.logs.String(), "plan-secret") || strings.Contains(e.logs.String(), "apply-secret") {
		t.Error("a credential reached the log")
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
