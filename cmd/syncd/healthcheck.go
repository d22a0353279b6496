package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/exitcode"
	"github.com/syncd/syncd/internal/termsafe"
)

// cmdHealthcheck exits 0 when the daemon is ready (/readyz answers 200),
// for container health checks on images without curl. Ready, not merely
// alive: a daemon whose token is rejected serves /healthz but syncs
// nothing, and the container's health is what people and `depends_on:
// service_healthy` look at. Docker does not restart an unhealthy container
// on its own; --live asks /healthz instead, for a platform that does
// (restarting fixes no rejected credential).
func cmdHealthcheck(ctx context.Context, e env, args []string) int {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	url := fs.String("url", "", "URL to probe (default: /readyz on the configuration's server.listen, else "+config.DefaultListen+")")
	live := fs.Bool("live", false, "probe /healthz (the process serves) instead of /readyz (it can sync)")
	path := fs.String("config", "", "configuration file whose server.listen to probe")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: syncd healthcheck [--live] [--url URL] [--config FILE] [--timeout 3s]")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, e); !ok {
		return code
	}
	if *url == "" {
		listen, err := listenOf(*path, e.getenv)
		if err != nil {
			fmt.Fprintf(e.stderr, "syncd healthcheck: %v; probing %s\n", err, listen)
		}
		endpoint := "/readyz"
		if *live {
			endpoint = "/healthz"
		}
		*url = healthURL(listen, endpoint)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if err := probe(ctx, *url); err != nil {
		fmt.Fprintf(e.stderr, "syncd healthcheck: %v\n", err)
		return exitcode.Failure
	}
	return exitcode.OK
}

// listenOf reads server.listen from the configuration; when it does not
// load, the default address, and why.
func listenOf(path string, getenv func(string) string) (string, error) {
	if path == "" {
		path = config.DefaultPath(getenv)
	}
	cfg, err := config.Load(path, getenv)
	if err != nil {
		return config.DefaultListen, fmt.Errorf("the configuration does not load (%v)", err)
	}
	if cfg.Server.Listen == "" {
		return config.DefaultListen, nil
	}
	return cfg.Server.Listen, nil
}

// healthURL turns a listen address and an endpoint into a URL to dial: a
// wildcard host becomes loopback.
func healthURL(listen, endpoint string) string {
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

func probe(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	if resp.StatusCode != http.StatusOK {
		// /readyz says why (the token rejected, ...): Docker keeps this
		// output in the container's health log.
		return fmt.Errorf("%s answered %s: %s", url, resp.Status, termsafe.String(strings.TrimSpace(string(body))))
	}
	return nil
}
