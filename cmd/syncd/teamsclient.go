package main

import (
	"fmt"
	"net/http"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/teams"
	"github.com/syncd/syncd/internal/teams/emulator"
	"github.com/syncd/syncd/internal/tlsconfig"
)

// teamsConn is a Teams API client and, for "emulator:" URLs, the emulator
// serving it in-process (nil for a real site).
type teamsConn struct {
	Client   *teams.Client
	Emulator *emulator.Emulator
	BaseURL  string // what the client talks to, for messages
}

// newTeamsClient builds the API client of the config: a real site over
// HTTPS (with the extra CA bundle, verification off only when named), or
// the emulator of teams.url "emulator:SEED.json" in-process.
func newTeamsClient(t config.Teams, hook teams.Hook) (*teamsConn, error) {
	o := teams.Options{BaseURL: t.URL, Token: t.Token.Reveal(), UserAgent: t.UserAgent, Timeout: t.Timeout.Std(), Hook: hook}
	conn := &teamsConn{}
	if seedPath, ok := t.EmulatorSeed(); ok {
		seed, err := emulator.LoadSeed(seedPath)
		if err != nil {
			return nil, fmt.Errorf("teams emulator: %w", err)
		}
		if conn.Emulator, err = emulator.New(seed, emulator.Options{}); err != nil {
			return nil, fmt.Errorf("teams emulator: %w", err)
		}
		o.BaseURL, o.Token = seed.InProcess(o.Token)
		o.HTTPClient = &http.Client{Transport: conn.Emulator.Transport()}
	} else {
		hc, err := teamsHTTPClient(t)
		if err != nil {
			return nil, err
		}
		o.HTTPClient = hc
	}
	c, err := teams.New(o)
	if err != nil {
		return nil, err
	}
	conn.Client, conn.BaseURL = c, o.BaseURL
	return conn, nil
}

// teamsHTTPClient trusts the system's CAs plus teams.ca_file.
func teamsHTTPClient(t config.Teams) (*http.Client, error) {
	tr, err := tlsconfig.Transport(t.CAFile, t.InsecureSkipVerify)
	if err != nil {
		return nil, fmt.Errorf("teams.ca_file: %w", err)
	}
	return &http.Client{Transport: tr}, nil
}
