package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"time"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/exitcode"
	"github.com/syncd/syncd/internal/probe"
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
		*url = probe.HealthURL(listen, endpoint)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if err := probe.Health(ctx, http.DefaultClient, *url); err != nil {
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
