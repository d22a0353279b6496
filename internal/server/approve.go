package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/approval"
	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/state"
)

// approveRequest is the body of POST /approve (DESIGN.md §9).
type approveRequest struct {
	IDs []string `json:"ids"`
	All bool     `json:"all"`
	TTL string   `json:"ttl"` // "24h", "3d"; default 24h
}

// approveAPI records approvals of held changes, as `syncd approve` does:
// the next run applies exactly those changes. Same access rules as
// POST /sync (guard).
func (s *Server) approveAPI(w http.ResponseWriter, r *http.Request) {
	var body approveRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		plain(w, http.StatusBadRequest, `the body must be JSON: {"ids": ["ID", ...]} or {"all": true}, optionally with "ttl": "24h"`)
		return
	}
	var ttl time.Duration
	if body.TTL != "" {
		d, err := config.ParseDuration(body.TTL)
		if err != nil {
			plain(w, http.StatusBadRequest, "ttl "+quote(body.TTL)+" is not a duration (24h, 3d)")
			return
		}
		ttl = d
	}
	if body.All == (len(body.IDs) > 0) {
		plain(w, http.StatusBadRequest, `give "ids" or "all": true, one of the two`)
		return
	}
	list, err := approval.Approve(s.o.Console.Store(), approval.Request{IDs: body.IDs, All: body.All, TTL: ttl,
		By: "POST /approve from " + r.RemoteAddr, Target: s.o.Console.Target()}, time.Now())
	if err != nil {
		plain(w, approvalStatus(err), err.Error())
		return
	}
	ids := make([]string, len(list))
	for i, a := range list {
		ids[i] = a.ID
	}
	s.o.Logger.Info("held changes approved over HTTP", zap.Strings("ids", ids), zap.String("remote", r.RemoteAddr))
	w.Header().Set("Content-Type", contentTypes["json"])
	_ = json.NewEncoder(w).Encode(struct {
		Approved []state.Approval `json:"approved"`
	}{list})
}

// approvalStatus is the HTTP status of an approval that failed.
func approvalStatus(err error) int {
	var unknown *approval.UnknownError
	var ttl *approval.TTLError
	switch {
	case errors.As(err, &unknown):
		return http.StatusNotFound
	case errors.As(err, &ttl):
		return http.StatusBadRequest
	case errors.Is(err, approval.ErrNothingHeld), errors.Is(err, approval.ErrNoRun):
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}
