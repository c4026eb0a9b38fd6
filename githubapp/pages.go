package githubapp

import "github.com/google/go-github/v62/github"

// allPages reads every page of a GitHub list, 100 items a page. fetch
// reads the page that opt names (opt is the ListOptions of fetch's
// request) and convert makes planbot's value of each item. A failure is
// wrapped as op.
func allPages[T, U any](op string, opt *github.ListOptions, fetch func() ([]T, *github.Response, error), convert func(T) U) ([]U, error) {
	opt.PerPage = 100
	var out []U
	for {
		items, resp, err := fetch()
		if err != nil {
			return nil, wrap(op, resp, err)
		}
		for _, it := range items {
			out = append(out, convert(it))
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}
