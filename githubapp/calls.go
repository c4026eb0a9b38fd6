package githubapp

import (
	"net/http"

	"github.com/planbot/planbot/metrics"
)

// NewCalls registers planbot_github_api_calls_total in r, the counter of
// Options.Calls.
func NewCalls(r *metrics.Registry) *metrics.Counter {
	return r.Counter("planbot_github_api_calls_total",
		"Requests sent to the GitHub API, by the class of their answer's status (2xx, 3xx, 4xx, 5xx) or error (no answer).",
		"class")
}

// counting is a transport that counts every request it sends by the class
// of its answer's status.
type counting struct {
	next  http.RoundTripper
	calls *metrics.Counter
}

func (t counting) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	t.calls.Inc(statusClass(resp, err))
	return resp, err
}

// statusClass returns the label of an answer: "2xx" to "5xx", "error" when
// there is none (the connection failed or the context ended), and "other"
// for a status outside 200 to 599.
func statusClass(resp *http.Response, err error) string {
	if err != nil || resp == nil {
		return "error"
	}
	switch c := resp.StatusCode / 100; c {
	case 2, 3, 4, 5:
		return string(rune('0'+c)) + "xx"
	}
	return "other"
}
