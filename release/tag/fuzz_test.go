package tag

import "testing"

// FuzzParse checks that Compile and Parse never panic, and that a tag that
// parses is written back to the same name by Format.
func FuzzParse(f *testing.F) {
	for _, s := range [][2]string{
		{Default, "shop/production/2026/12/02/1030-ana-api,worker"},
		{Default, "shop/staging/2026/12/02/1030-ana"},
		{Default, "shop/staging/2026/02/30/1030-ana"},
		{"release-<env>-<product>[-<services>]", "release-staging-shop-api"},
		{"<product>/<env>[/<name>[/<services>]]", "a/b/c/d,e"},
		{"<product>/<env>[@<yyyy><mm><dd>]", "a/b@20261202"},
		{"[<product>", "x"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		p, err := Compile(pattern)
		if err != nil {
			return
		}
		tg, err := p.Parse(name)
		if err != nil {
			return
		}
		if tg.Product == "" || tg.Env == "" {
			t.Fatalf("Parse(%q) by %q has no product or env: %+v", name, pattern, tg)
		}
		if got := p.Format(tg); got != name {
			t.Fatalf("Format(Parse(%q)) by %q = %q", name, pattern, got)
		}
	})
}
