package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/syncd/syncd/internal/config"
)

const defaultListen = "127.0.0.1:9184"

// cmdHealthcheck exits 0 when the daemon's /healthz answers 200, for
// container health checks on images without curl.
func cmdHealthcheck(ctx context.Context, e env, args []string) int {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	url := fs.String("url", "", "health URL (default: /healthz on the configuration's server.listen, else "+defaultListen+")")
	path := fs.String("config", "", "configuration file whose server.listen to probe")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: syncd healthcheck [--url URL] [--config FILE] [--timeout 3s]")
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
		*url = healthURL(listen)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if err := probe(ctx, *url); err != nil {
		fmt.Fprintf(e.stderr, "syncd healthcheck: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// listenOf reads server.listen from the configuration; when it does not
// load, the default address, and why.
func listenOf(path string, getenv func(string) string) (string, error) {
	if path == "" {
		path = config.DefaultPath(getenv)
	}
	cfg, err := config.Load(path, getenv)
	if err != nil {
		return defaultListen, fmt.Errorf("the configuration does not load (%v)", err)
	}
	if cfg.Server.Listen == "" {
		return defaultListen, nil
	}
	return cfg.Server.Listen, nil
}

// healthURL turns a listen address into a URL to dial: a wildcard host
// becomes loopback.
func healthURL(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://" + defaultListen + "/healthz"
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz"
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
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", url, resp.Status)
	}
	return nil
}
