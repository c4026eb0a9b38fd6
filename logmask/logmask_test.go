package logmask_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/planbot/planbot/logmask"
)

func TestHandlerMasks(t *testing.T) {
	var buf bytes.Buffer
	mask := func(s string) string { return strings.ReplaceAll(s, "apply-secret", "***") }
	log := slog.New(logmask.New(slog.NewJSONHandler(&buf, nil), mask))
	log = log.With("with", "apply-secret in With")
	log.WithGroup("g").Info("message apply-secret",
		"err", errors.New("terraform failed: apply-secret"),
		"plain", "apply-secret",
		slog.Group("nested", "deep", "x apply-secret"),
		"n", 3)
	out := buf.String()
	if strings.Contains(out, "apply-secret") {
		t.Fatalf("secret logged: %s", out)
	}
	for _, want := range []string{`"msg":"message ***"`, `"err":"terraform failed: ***"`, `"plain":"***"`, `"deep":"x ***"`, `"with":"*** in With"`, `"n":3`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s: %s", want, out)
		}
	}
}
