package main

import (
	"context"
	"crypto/tls"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/syncd/syncd/internal/teams/emulator"
)

// defaultSeed is served when no --seed is given: one admin token for
// each base URL form and a few users, groups and tags.
//
//go:embed default-seed.json
var defaultSeed []byte

const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

type flags struct {
	listen, seed, state, tlsCert, tlsKey string
	sme                                  string
	opt                                  emulator.Options
}

func parseFlags(args []string, stderr io.Writer) (*flags, error) {
	f := &flags{}
	fs := flag.NewFlagSet("teams-emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8080", "address to listen on (port 0 picks a free port)")
	fs.StringVar(&f.seed, "seed", "", "seed file (JSON); default: a small built-in demo seed")
	fs.StringVar(&f.state, "state", "", "state file: loaded instead of --seed when it exists, written on exit")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "TLS certificate file (PEM); serve HTTPS")
	fs.StringVar(&f.tlsKey, "tls-key", "", "TLS private key file (PEM)")
	fs.StringVar(&f.sme, "sme", "", `SME feature: "on" or "off" (default: as in the seed)`)
	o := &f.opt
	fs.IntVar(&o.BurstLimit, "burst-limit", 50, "burst throttle: requests per window per token")
	fs.DurationVar(&o.BurstWindow, "burst-window", 2*time.Second, "burst throttle window")
	fs.IntVar(&o.BucketSize, "bucket-size", 5000, "token bucket size per token")
	fs.IntVar(&o.RefillAmount, "refill-amount", 100, "tokens added per refill")
	fs.DurationVar(&o.RefillEvery, "refill-every", 60*time.Second, "token bucket refill period")
	fs.BoolVar(&o.NoThrottle, "no-throttle", false, "never answer 429 (the headers announce a full budget)")
	fs.Float64Var(&o.FaultRate, "fault-rate", 0, "share of requests answered 500/502/503 without applying")
	fs.Float64Var(&o.LostResponseRate, "lost-response-rate", 0, "share of writes applied, then answered 502")
	fs.DurationVar(&o.Latency, "latency", 0, "delay added to every answer")
	fs.IntVar(&o.DeleteMemberStatus, "delete-member-status", 200, "status of DELETE …/members/{id}: 200 or 204")
	fs.IntVar(&o.EmptyTotalPages, "empty-total-pages", 1, "totalPages of an empty list: 1 or 0")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	if f.sme != "" && f.sme != "on" && f.sme != "off" {
		return nil, fmt.Errorf("--sme %q: want on or off", f.sme)
	}
	switch o.EmptyTotalPages {
	case 0:
		o.EmptyTotalPages = -1
	case 1:
	default:
		return nil, fmt.Errorf("--empty-total-pages %d: want 0 or 1", o.EmptyTotalPages)
	}
	return f, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "teams-emulator: %v\n", err)
		return exitUsage
	}
	if err := serve(ctx, f, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "teams-emulator: %v\n", err)
		return exitError
	}
	return exitOK
}

func loadSeed(f *flags) (*emulator.Seed, error) {
	if f.state != "" {
		if _, err := os.Stat(f.state); err == nil {
			return emulator.LoadSeed(f.state)
		}
	}
	if f.seed != "" {
		return emulator.LoadSeed(f.seed)
	}
	var s emulator.Seed
	if err := json.Unmarshal(defaultSeed, &s); err != nil {
		return nil, fmt.Errorf("built-in seed: %w", err)
	}
	return &s, nil
}

// serve runs the emulator until ctx ends, then shuts down and saves the
// state file when one is configured.
func serve(ctx context.Context, f *flags, stdout, stderr io.Writer) error {
	emu, err := newEmulator(f)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: emu, ReadHeaderTimeout: 10 * time.Second}
	scheme := "http"
	if f.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey)
		if err != nil {
			return fmt.Errorf("tls: %w", err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		scheme = "https"
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return err
	}
	if f.seed == "" && f.state == "" {
		fmt.Fprintln(stderr, "teams-emulator: no --seed: serving the built-in demo seed (token \"demo-admin\")")
	}
	// The one line on stdout: scripts wait for it, then read the address.
	fmt.Fprintf(stdout, "listening on %s://%s\n", scheme, ln.Addr())
	if err := serveUntilDone(ctx, srv, ln); err != nil {
		return err
	}
	if f.state != "" {
		return emu.SaveState(f.state)
	}
	return nil
}

func newEmulator(f *flags) (*emulator.Emulator, error) {
	seed, err := loadSeed(f)
	if err != nil {
		return nil, err
	}
	if f.sme != "" {
		seed.SMEEnabled = f.sme == "on"
	}
	return emulator.New(seed, f.opt)
}

// serveUntilDone serves on ln until ctx ends, then lets in-flight requests
// finish (up to 5 s).
func serveUntilDone(ctx context.Context, srv *http.Server, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() {
		if srv.TLSConfig != nil {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
