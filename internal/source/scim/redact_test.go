package scim

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const echoedToken = "SCIMREADERTOKEN_12345"

// TestErrorsNeverHoldToken: a server that echoes the Authorization header,
// or uses the token as an id, must not get it into the reader's errors.
func TestErrorsNeverHoldToken(t *testing.T) {
	for _, tc := range []struct {
		name  string
		serve func(w http.ResponseWriter, r *http.Request)
	}{
		{"401 detail echoes the header", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(map[string]string{"detail": "bad header " + r.Header.Get("Authorization")})
		}},
		{"token near the cap", func(w http.ResponseWriter, r *http.Request) {
			// Capping first would leave a prefix of the token.
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]string{"detail": strings.Repeat("x", 183) + r.Header.Get("Authorization")})
		}},
		{"500 scimType and detail echo the header", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
			_ = json.NewEncoder(w).Encode(map[string]string{"scimType": r.Header.Get("Authorization"), "detail": r.Header.Get("Authorization")})
		}},
		{"id is the token, returned twice", func(w http.ResponseWriter, r *http.Request) {
			res := []map[string]any{{"id": echoedToken, "userName": "a"}, {"id": echoedToken, "userName": "b"}}
			_ = json.NewEncoder(w).Encode(map[string]any{"totalResults": 2, "Resources": res})
		}},
		{"member is the token, lookup fails", func(w http.ResponseWriter, r *http.Request) {
			switch {
			case strings.HasSuffix(r.URL.Path, "/Groups"):
				res := []map[string]any{{"id": "g1", "displayName": "g", "members": []map[string]string{{"value": echoedToken}}}}
				_ = json.NewEncoder(w).Encode(map[string]any{"totalResults": 1, "Resources": res})
			case strings.HasSuffix(r.URL.Path, "/Users"):
				_ = json.NewEncoder(w).Encode(map[string]any{"totalResults": 0, "Resources": []any{}})
			default:
				w.WriteHeader(http.StatusForbidden)
				_ = json.NewEncoder(w).Encode(map[string]string{"detail": "no access to " + r.URL.Path})
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(tc.serve))
			defer srv.Close()
			r := newReader(t, srv.URL+"/scim/v2", echoedToken, true)
			dir, err := r.Read(context.Background())
			var msgs []string
			if err != nil {
				msgs = append(msgs, err.Error())
			} else {
				for _, g := range dir.Groups {
					if g.Err != nil {
						msgs = append(msgs, g.Err.Error())
					}
				}
			}
			if len(msgs) == 0 {
				t.Fatal("no error at all")
			}
			for _, m := range msgs {
				if strings.Contains(m, echoedToken[:8]) || !strings.Contains(m, "[REDACTED]") {
					t.Errorf("error %q: token not redacted", m)
				}
			}
		})
	}
}
