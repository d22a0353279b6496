package config_test

import (
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/teams"
)

// TestTeamsURLAgreesWithClient: a teams.url the config accepts is one the
// API client accepts, and the other way round, so `syncd validate` never
// passes a URL that `syncd sync` then refuses.
func TestTeamsURLAgreesWithClient(t *testing.T) {
	for _, u := range []string{
		"https://api.stackoverflowteams.com/v3/teams/acme",
		"https://api.stackoverflowteams.com/v3/teams/acme/",
		"https://acme.stackenterprise.co/api/v3",
		"https://acme.stackenterprise.co/api/v3/teams/platform",
		"http://127.0.0.1:8080/api/v3",
		"https://host.example.com/prefix/api/v3",
		"https://acme.stackenterprise.co",
		"https://acme.stackenterprise.co/api/v2.3",
		"https://api.stackoverflowteams.com/v3/teams",
		"https://api.stackoverflowteams.com/v3/teams/acme?x=1",
		"ftp://acme.stackenterprise.co/api/v3",
		"https:///api/v3",
		"https://u:p@acme.stackenterprise.co/api/v3",
	} {
		yaml := "teams: {url: \"" + u + "\", token: t}\nsources: [{name: s, scim: {url: \"https://idp/scim\", token: t}}]\n"
		_, cfgErr := config.Parse("c.yaml", []byte(yaml), func(string) string { return "" })
		_, clientErr := teams.New(teams.Options{BaseURL: u, Token: "t"})
		if (cfgErr == nil) != (clientErr == nil) {
			t.Errorf("%s: config says %v, client says %v", u, cfgErr, clientErr)
		}
		if cfgErr != nil && !strings.Contains(cfgErr.Error(), "c.yaml:1:") {
			t.Errorf("%s: error without position: %v", u, cfgErr)
		}
	}
}
