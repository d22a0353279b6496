package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	neturl "net/url"
	"time"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/probe"
)

type healthFlags struct {
	url, config *string
	live        *bool
	timeout     *time.Duration
}

func newHealthFlags() (*flag.FlagSet, *healthFlags) {
	fs := newFlagSet("healthcheck")
	f := &healthFlags{
		url:     fs.String("url", "", "the `URL` to probe (default: /readyz on the configuration's server.listen, else "+config.DefaultListen+")"),
		live:    fs.Bool("live", false, "probe /healthz (the process serves) instead of /readyz (it can sync)"),
		config:  configFlag(fs),
		timeout: fs.Duration("timeout", 3*time.Second, "give up after `DURATION`"),
	}
	return fs, f
}

// cmdHealthcheck exits 0 when the daemon is ready (/readyz answers 200),
// for container health checks on images without curl. Ready, not merely
// alive: a daemon whose token is rejected serves /healthz but syncs
// nothing, and the container's health is what people and `depends_on:
// service_healthy` look at. Docker does not restart an unhealthy container
// on its own; --live asks /healthz instead, for a platform that does
// (restarting fixes no rejected credential).
func cmdHealthcheck(ctx context.Context, e env, args []string) error {
	fs, f := newHealthFlags()
	if err := parse(fs, args); err != nil {
		return err
	}
	endpoint := "/readyz"
	if *f.live {
		endpoint = "/healthz"
	}
	url := withEndpoint(*f.url, endpoint)
	if url == "" {
		listen, err := listenOf(configPath(e, *f.config), e.getenv)
		if err != nil {
			fmt.Fprintf(e.stderr, "syncd healthcheck: %v; probing %s\n", err, listen)
		}
		url = probe.HealthURL(listen, endpoint)
	}
	ctx, cancel := context.WithTimeout(ctx, *f.timeout)
	defer cancel()
	return probe.Health(ctx, http.DefaultClient, url)
}

// withEndpoint is a --url given as the daemon's base URL (no path, or
// "/") with the endpoint added: probing the console's page instead said
// nothing of readiness.
func withEndpoint(raw, endpoint string) string {
	u, err := neturl.Parse(raw)
	if err != nil || raw == "" || (u.Path != "" && u.Path != "/") {
		return raw
	}
	u.Path = endpoint
	return u.String()
}

// listenOf reads server.listen from the configuration at path; when it
// does not load, the default address, and why.
func listenOf(path string, getenv func(string) string) (string, error) {
	cfg, err := config.Load(path, getenv)
	if err != nil {
		return config.DefaultListen, fmt.Errorf("the configuration does not load (%v)", err)
	}
	if cfg.Server.Listen == "" {
		return config.DefaultListen, nil
	}
	return cfg.Server.Listen, nil
}
