package githubapp

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v62/github"
)

// RateLimitError is a request that GitHub refused because of a rate limit,
// primary or secondary. No request should be made before Until: the job
// that made it waits until then instead of failing.
type RateLimitError struct {
	// Until is when GitHub allows requests again.
	Until time.Time
	Err   error
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("GitHub rate limit until %s: %v", e.Until.UTC().Format(time.RFC3339), e.Err)
}

func (e *RateLimitError) Unwrap() error { return e.Err }

// LimitedUntil returns Until: it is how the job queue, which does not
// import this package, learns when to run the job again.
func (e *RateLimitError) LimitedUntil() time.Time { return e.Until }

// secondaryWait is how long to wait after a rate limit that says nothing
// of its end: GitHub's "wait for at least one minute before retrying".
const secondaryWait = time.Minute

// rateLimited returns err as a *RateLimitError when it is GitHub refusing a
// request for a rate limit, and nil otherwise. resp is the response that
// came with err, if any.
func rateLimited(resp *http.Response, err error) error {
	if err == nil {
		return nil
	}
	if until, ok := rateLimitUntil(resp, err, time.Now()); ok {
		return &RateLimitError{Until: until, Err: err}
	}
	return nil
}

// rateLimitUntil reports whether resp and err are a rate limit, and when
// it ends, following GitHub's rules for a 403 or 429: with a retry-after
// header, that many seconds after now; else with x-ratelimit-remaining 0,
// the x-ratelimit-reset time (UTC epoch seconds); else, for a 429 or a
// secondary limit, a minute after now. A 403 without any of those is a
// permission problem, not a rate limit.
//
// Where resp is nil (the response came back inside an error, or go-github
// refused to send a request while an earlier limit lasts) the response and
// the limit are taken from err.
func rateLimitUntil(resp *http.Response, err error, now time.Time) (time.Time, bool) {
	var tokenErr *ghinstallation.HTTPError
	if resp == nil && errors.As(err, &tokenErr) {
		resp = tokenErr.Response // creating an installation token failed
	}
	var primary *github.RateLimitError
	var secondary *github.AbuseRateLimitError
	isPrimary, isSecondary := errors.As(err, &primary), errors.As(err, &secondary)
	if resp != nil && (resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusTooManyRequests) {
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), now); ok {
			return now.Add(d), true
		}
		if resp.Header.Get("X-RateLimit-Remaining") == "0" {
			if reset, err := strconv.ParseInt(strings.TrimSpace(resp.Header.Get("X-RateLimit-Reset")), 10, 64); err == nil && reset > 0 {
				return time.Unix(reset, 0), true
			}
		}
		if resp.StatusCode == http.StatusTooManyRequests && !isPrimary {
			return now.Add(secondaryWait), true
		}
	}
	switch {
	case isPrimary && !primary.Rate.Reset.IsZero():
		return primary.Rate.Reset.Time, true
	case isPrimary:
		return now.Add(secondaryWait), true
	case isSecondary && secondary.RetryAfter != nil && *secondary.RetryAfter > 0:
		return now.Add(*secondary.RetryAfter), true
	case isSecondary:
		return now.Add(secondaryWait), true
	}
	return time.Time{}, false
}

// retryAfter parses a Retry-After header: seconds, or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Duration(max(s, 0)) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
