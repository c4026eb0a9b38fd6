package githubfake

import (
	"net"
	"testing"
)

// FreeAddr returns a loopback address ("127.0.0.1:port") where nothing
// listens: a webhook URL or an API URL that answers nothing, or where a
// test starts a server for the fake to deliver to. The port was free when
// FreeAddr returned.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
