package probe

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/termsafe"
)

// HealthURL turns a listen address and an endpoint (/readyz, /healthz)
// into a URL to dial: a wildcard host becomes loopback, an address that
// does not parse the default one.
func HealthURL(listen, endpoint string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://" + config.DefaultListen + endpoint
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + endpoint
}

// Health asks url with GET: nil for a 200, else an error holding what the
// endpoint answered (/readyz says why it is not ready).
func Health(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s: %s", url, resp.Status, termsafe.String(strings.TrimSpace(string(body))))
	}
	return nil
}
