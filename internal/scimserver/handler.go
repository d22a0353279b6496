// Package scimserver is syncd's SCIM 2.0 receiver: a service provider
// (RFC 7643/7644) that identity providers such as Microsoft Entra ID and
// Okta provision users and groups into. What it receives is stored durably
// (Store) and read back by the sync engine as a directory (Source).
package scimserver

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/ration"
)

// Limits on what a client may send or ask for.
const (
	MaxBodyBytes    = 4 << 20 // a group PUT with tens of thousands of members fits
	DefaultCount    = 100
	MaxCount        = 1000
	contentTypeSCIM = "application/scim+json"
)

type handler struct {
	name      string
	prefix    string // /scim/<name>/v2
	store     *Store
	tokenHash [32]byte
	noToken   bool
	onChange  func()
	logger    *zap.Logger
	guesses   *ration.Guesses // wrong tokens allowed
}

// NewHandler serves the receiver named name. Mount it at
// "/scim/<name>/v2/"; it also works behind http.StripPrefix. Every request
// needs "Authorization: Bearer <token>"; an empty token refuses all.
// onChange (may be nil) is called after each stored change; it must not block.
func NewHandler(name string, store *Store, token string, onChange func(), logger *zap.Logger) http.Handler {
	if logger == nil {
		logger = zap.NewNop()
	}
	if onChange == nil {
		onChange = func() {}
	}
	h := &handler{
		name: name, prefix: "/scim/" + name + "/v2", store: store,
		tokenHash: sha256.Sum256([]byte(token)), noToken: token == "",
		onChange: onChange, logger: logger.Named("scim-receiver").With(zap.String("source", name)),
		guesses: ration.New(time.Now),
	}
	if h.noToken {
		h.logger.Error("SCIM receiver has no token: every request is refused")
	}
	return h
}

// authorized compares hashes in constant time, so neither the token's
// content nor its length leaks through timing.
func (h *handler) authorized(r *http.Request) bool {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || h.noToken {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	return subtle.ConstantTimeCompare(got[:], h.tokenHash[:]) == 1
}

// admitted answers a request whose token is missing, wrong, or cannot be
// checked now (package ration: a guessed token would let anyone push a
// directory), and reports whether the request may go on.
func (h *handler) admitted(w http.ResponseWriter, r *http.Request) bool {
	presented := strings.TrimSpace(r.Header.Get("Authorization")) != ""
	v, wait, spent := h.guesses.Check(presented, func() bool { return h.authorized(r) })
	refused := func(why string) {
		h.logger.Info("SCIM request refused: "+why,
			zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.String("remote", r.RemoteAddr))
	}
	switch {
	case v == ration.Right:
		return true
	case v == ration.Rationed:
		refused("too many wrong tokens lately, token not checked")
		w.Header().Set("Retry-After", ration.RetryAfter(wait))
		writeError(w, &scimError{status: http.StatusTooManyRequests,
			detail: "too many wrong tokens were tried: tokens are checked again in " + ration.RetryAfter(wait) + " s"})
		return false
	case spent:
		h.logger.Warn("too many wrong SCIM tokens: tokens are checked at most once per "+ration.Every.String()+" until they stop",
			zap.String("remote", r.RemoteAddr), zap.Int("allowed_burst", ration.Burst))
	}
	refused("missing or invalid bearer token")
	w.Header().Set("WWW-Authenticate", `Bearer realm="syncd SCIM"`)
	writeError(w, &scimError{status: http.StatusUnauthorized, detail: "missing or invalid bearer token"})
	return false
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.admitted(w, r) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	path := strings.TrimPrefix(r.URL.Path, h.prefix)
	segs := strings.Split(strings.Trim(path, "/"), "/")
	var err error
	switch {
	case len(segs) == 1 && strings.EqualFold(segs[0], "ServiceProviderConfig"):
		err = h.discovery(w, r, nil, segs[1:])
	case len(segs) <= 2 && strings.EqualFold(segs[0], "ResourceTypes"):
		err = h.discovery(w, r, resourceTypes, segs[1:])
	case len(segs) <= 2 && strings.EqualFold(segs[0], "Schemas"):
		err = h.discovery(w, r, schemas, segs[1:])
	case len(segs) <= 2 && strings.EqualFold(segs[0], string(Users)):
		err = h.resources(w, r, Users, segs[1:])
	case len(segs) <= 2 && strings.EqualFold(segs[0], string(Groups)):
		err = h.resources(w, r, Groups, segs[1:])
	default:
		err = &scimError{status: http.StatusNotFound, detail: "no such endpoint"}
	}
	if err != nil {
		h.fail(w, r, err)
	}
}

// discovery serves /ServiceProviderConfig (list nil), /ResourceTypes and /Schemas.
func (h *handler) discovery(w http.ResponseWriter, r *http.Request, list func(base string) []object, rest []string) error {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		return &scimError{status: http.StatusMethodNotAllowed, detail: r.Method + " not allowed here"}
	}
	base := h.base(r)
	if list == nil {
		writeJSON(w, http.StatusOK, serviceProviderConfig(base))
		return nil
	}
	items := list(base)
	if len(rest) == 0 {
		writeJSON(w, http.StatusOK, object{"schemas": []string{listSchema}, "totalResults": len(items),
			"itemsPerPage": len(items), "startIndex": 1, "Resources": items})
		return nil
	}
	for _, it := range items {
		if id, _ := it["id"].(string); strings.EqualFold(id, rest[0]) {
			writeJSON(w, http.StatusOK, it)
			return nil
		}
	}
	return &scimError{status: http.StatusNotFound, detail: rest[0] + " not found"}
}

// base is the absolute URL of this receiver, for meta.location.
func (h *handler) base(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host + h.prefix
}

func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var se *scimError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &se):
	case errors.As(err, &tooBig):
		se = &scimError{status: http.StatusRequestEntityTooLarge, detail: fmt.Sprintf("request body over %d bytes", MaxBodyBytes)}
	default:
		h.logger.Error("SCIM request failed", zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.Error(err))
		se = &scimError{status: http.StatusInternalServerError, detail: "internal error; see syncd's log"}
	}
	if se.status >= 400 && se.status < 500 {
		h.logger.Info("SCIM request refused", zap.String("method", r.Method), zap.String("path", r.URL.Path),
			zap.Int("status", se.status), zap.String("scimType", se.scimType), zap.String("detail", se.detail))
	}
	writeError(w, se)
}

func writeError(w http.ResponseWriter, e *scimError) {
	body := object{"schemas": []string{errorSchema}, "status": strconv.Itoa(e.status), "detail": e.detail}
	if e.scimType != "" {
		body["scimType"] = e.scimType
	}
	writeJSON(w, e.status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status, data = http.StatusInternalServerError, []byte(`{"schemas":["`+errorSchema+`"],"status":"500","detail":"encode response"}`)
	}
	w.Header().Set("Content-Type", contentTypeSCIM)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

func decodeBody(r *http.Request, v any) error {
	ct := strings.ToLower(r.Header.Get("Content-Type"))
	if ct != "" && !strings.Contains(ct, "json") {
		return &scimError{status: http.StatusUnsupportedMediaType, detail: "content type must be " + contentTypeSCIM}
	}
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return err
		}
		return badRequest("invalidSyntax", "request body: %v", err)
	}
	return nil
}
