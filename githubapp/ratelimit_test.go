package githubapp

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v62/github"
)

func TestRateLimitUntil(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	reset := now.Add(2 * time.Hour)
	resp := func(status int, h ...string) *http.Response {
		r := &http.Response{StatusCode: status, Header: http.Header{}}
		for i := 0; i+1 < len(h); i += 2 {
			r.Header.Set(h[i], h[i+1])
		}
		return r
	}
	epoch := strconv.FormatInt(reset.Unix(), 10)
	secs := func(d time.Duration) *time.Duration { return &d }
	tests := []struct {
		name   string
		resp   *http.Response
		err    error
		want   time.Time
		wantOK bool
	}{
		{name: "primary limit, 403", resp: resp(403, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", epoch), err: errors.New("403"), want: reset, wantOK: true},
		{name: "primary limit, 429", resp: resp(429, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", epoch), err: errors.New("429"), want: reset, wantOK: true},
		{name: "retry-after wins over reset", resp: resp(403, "Retry-After", "90", "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", epoch), err: errors.New("403"), want: now.Add(90 * time.Second), wantOK: true},
		{name: "retry-after as a date", resp: resp(429, "Retry-After", now.Add(time.Hour).Format(http.TimeFormat)), err: errors.New("429"), want: now.Add(time.Hour), wantOK: true},
		{name: "429 without headers waits a minute", resp: resp(429), err: errors.New("429"), want: now.Add(time.Minute), wantOK: true},
		{name: "403 with requests left is a permission error", resp: resp(403, "X-RateLimit-Remaining", "4999", "X-RateLimit-Reset", epoch), err: errors.New("403")},
		{name: "403 without headers is a permission error", resp: resp(403), err: errors.New("403")},
		{name: "remaining 0 on a 404 is no limit", resp: resp(404, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", epoch), err: errors.New("404")},
		{name: "no response, no limit", err: errors.New("connection refused")},
		{
			name:   "go-github refusing to send while a limit lasts",
			resp:   resp(403),
			err:    &github.RateLimitError{Rate: github.Rate{Reset: github.Timestamp{Time: reset}}, Message: "API rate limit of 5000 still exceeded"},
			want:   reset,
			wantOK: true,
		},
		{name: "secondary limit with retry-after", resp: resp(403), err: &github.AbuseRateLimitError{RetryAfter: secs(30 * time.Second)}, want: now.Add(30 * time.Second), wantOK: true},
		{name: "secondary limit without retry-after", err: &github.AbuseRateLimitError{}, want: now.Add(time.Minute), wantOK: true},
		{
			name:   "installation token refused for a rate limit",
			err:    fmt.Errorf("wrapped: %w", &ghinstallation.HTTPError{Message: "could not refresh", Response: resp(403, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", epoch)}),
			want:   reset,
			wantOK: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := rateLimitUntil(tt.resp, tt.err, now)
			if ok != tt.wantOK || !got.Equal(tt.want) {
				t.Errorf("rateLimitUntil = %v, %v; want %v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
