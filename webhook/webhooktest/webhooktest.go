// Package webhooktest sends webhook deliveries over raw connections for
// tests of the front door: a request's head and part of its body go out
// as the test chooses, so a test can hold a request in flight, announce a
// body it never sends, or trickle one byte at a time, and then read the
// answer within a limit.
package webhooktest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/planbot/planbot/githubfake"
)

// RawDelivery opens a connection to the webhook at addr (host:port) and
// sends the head of a pull_request delivery of body, signed with secret
// like GitHub does, that announces contentLength bytes, and then the first
// sent bytes of body. The connection is closed when the test ends.
func RawDelivery(t testing.TB, addr, secret, delivery string, body []byte, contentLength, sent int) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	head := fmt.Sprintf("POST /webhook HTTP/1.1\r\nHost: planbot\r\nUser-Agent: GitHub-Hookshot/test\r\nContent-Type: application/json\r\n"+
		"X-GitHub-Event: pull_request\r\nX-GitHub-Delivery: %s\r\nX-Hub-Signature-256: %s\r\nContent-Length: %d\r\n\r\n",
		delivery, githubfake.Sign([]byte(secret), body), contentLength)
	if _, err := io.WriteString(c, head+string(body[:sent])); err != nil {
		t.Fatal(err)
	}
	return c
}

// ReadResponse reads the answer on c, failing the test when none comes
// within limit. Its body is closed.
func ReadResponse(t testing.TB, c net.Conn, limit time.Duration) *http.Response {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(limit))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no response within %v: %v", limit, err)
	}
	resp.Body.Close()
	return resp
}
