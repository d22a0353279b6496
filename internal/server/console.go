package server

import (
	"context"
	_ "embed"
	"errors"
	"html/template"
	"net/http"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/approval"
	"github.com/syncd/syncd/internal/daemon"
	"github.com/syncd/syncd/internal/exitcode"
	"github.com/syncd/syncd/internal/report"
	"github.com/syncd/syncd/internal/state"
	engine "github.com/syncd/syncd/internal/sync"
	"github.com/syncd/syncd/internal/version"
)

// The web console (DESIGN.md §9): one server-rendered page at / with the
// last runs, the latest report, the held changes with an Approve button
// each and one for all, the pending people and an explain search. It works
// without JavaScript (it has none); its forms post back and redirect.
// Who may see it and how its writes are protected: access.go, session.go.

// Console is what the console and POST /approve need of the daemon.
type Console interface {
	// Store is the state: approvals, the run history, the kept reports.
	Store() *state.Store
	// Target is the Teams site approvals are for (lock.Key of teams.url).
	Target() string
	// Explain explains one person's plan (daemon.ErrBusy during a run).
	Explain(ctx context.Context, email string) (*engine.Explanation, error)
}

//go:embed console.html.tmpl
var consoleSource string

var consoleTemplate = template.Must(template.New("console").Funcs(template.FuncMap{
	"when":      when,
	"describe":  report.Describe,
	"described": report.Described,
	"sentence":  sentence,
}).Parse(consoleSource))

// How much of long lists the page shows.
const (
	runsShown    = 10
	changesShown = 50
	pendingShown = 50
	explainLimit = 5 * time.Minute
)

func (s *Server) consoleRoutes() {
	s.mux.Handle("GET /{$}", s.consoleGuard("GET /", http.HandlerFunc(s.console)))
	s.mux.Handle("GET /explain", s.consoleGuard("GET /explain", http.HandlerFunc(s.explain)))
	s.mux.Handle("POST /console/approve", s.consoleGuard("POST /console/approve", s.consoleForm("POST /console/approve", http.HandlerFunc(s.consoleApprove))))
	s.mux.Handle("POST /console/sync", s.consoleGuard("POST /console/sync", s.consoleForm("POST /console/sync", http.HandlerFunc(s.consoleSync))))
	s.mux.Handle("POST /logout", s.consoleForm("POST /logout", http.HandlerFunc(s.logout)))
	s.mux.Handle("POST /login", s.localNames("POST /login", s.sameSite("POST /login", http.HandlerFunc(s.login))))
	s.mux.Handle("POST /approve", s.guard("POST /approve", http.HandlerFunc(s.approveAPI)))
}

// consolePage is what the template sees.
type consolePage struct {
	Title, Version string
	Login          bool   // the login form instead of the console
	LoginError     string // why the last login failed
	Disabled       bool   // off loopback without a token: the console is off
	Session        bool   // signed in with a session cookie: offer to log out
	CSRF           string
	Running        bool
	Progress       string // how far the run going now has applied, when it is applying
	Notice, Alert  string // what the last action did, or why it failed
	Runs           []runRow
	Latest         *report.Report
	Summary        string
	Changes        []report.Change
	MoreChanges    int
	Held           []heldRow
	Unapproved     int // held changes with an id not approved yet
	Pending        []report.Pending
	MorePending    int
	Email          string // the explain search
	Explanation    *engine.Explanation
	ExplainError   string
}

type runRow struct {
	state.Run
	Result   string
	Duration string
	Changes  string // "7 applied, 1 held"
}

type heldRow struct {
	report.Change
	Approval *state.Approval
}

// console serves the page.
func (s *Server) console(w http.ResponseWriter, r *http.Request) {
	p := s.page(w, r)
	p.Notice = s.notice(r)
	s.render(w, http.StatusOK, p)
}

// page gathers what every console page shows.
func (s *Server) page(w http.ResponseWriter, r *http.Request) *consolePage {
	store := s.o.Console.Store()
	p := &consolePage{Title: "syncd", Version: version.String(), Session: s.hasSession(r), CSRF: s.csrfToken(w, r),
		Running: s.running(), Progress: s.progress(), Latest: s.o.Scheduler.Latest()}
	runs := store.Runs()
	for i := len(runs) - 1; i >= 0 && len(p.Runs) < runsShown; i-- {
		p.Runs = append(p.Runs, runRow{Run: runs[i], Result: exitcode.Result(runs[i].ExitCode), Duration: took(runs[i]),
			Changes: runChanges(runs[i])})
	}
	if rep := p.Latest; rep != nil {
		p.Summary = rep.SummaryLine()
		approved := store.Approvals(time.Now())
		for _, c := range rep.Changes {
			if c.Status == report.StatusHeld {
				h := heldRow{Change: c}
				if a, ok := approved[c.ID]; ok && c.ID != "" {
					h.Approval = &a
				} else if c.ID != "" {
					p.Unapproved++
				}
				p.Held = append(p.Held, h)
				continue
			}
			if len(p.Changes) < changesShown {
				p.Changes = append(p.Changes, c)
			} else {
				p.MoreChanges++
			}
		}
		p.Pending = rep.Pending
		if len(p.Pending) > pendingShown {
			p.Pending, p.MorePending = p.Pending[:pendingShown], len(p.Pending)-pendingShown
		}
	}
	return p
}

// running asks the scheduler whether a run is going, if it can tell.
func (s *Server) running() bool {
	r, ok := s.o.Scheduler.(interface{ Running() bool })
	return ok && r.Running()
}

// progress words how far the run going now has applied, if the
// scheduler can tell: "1430 of 8050 user groups and tags done, about
// 33 min left".
func (s *Server) progress() string {
	r, ok := s.o.Scheduler.(interface {
		Progress() (engine.Progress, bool)
	})
	if !ok {
		return ""
	}
	p, ok := r.Progress()
	if !ok {
		return ""
	}
	text := strconv.Itoa(p.Done) + " of " + strconv.Itoa(p.Total) + " user groups and tags done"
	switch {
	case p.Left >= time.Minute:
		text += ", about " + strconv.Itoa(int(p.Left.Round(time.Minute)/time.Minute)) + " min left"
	case p.Left > 0:
		text += ", less than a minute left"
	}
	return text
}

// notice is what the redirect after an action says; only fixed words and
// what the state confirms are shown, never text from the query.
func (s *Server) notice(r *http.Request) string {
	q := r.URL.Query()
	switch {
	case q.Get("started") != "":
		return "A sync run has started. Reload the page to see its result."
	case q.Get("busy") != "":
		return "A sync run is already going. Reload the page to see its result."
	case q.Get("approved") != "":
		approved := s.o.Console.Store().Approvals(time.Now())
		var ids []string
		for _, id := range strings.Split(q.Get("approved"), ",") {
			if _, ok := approved[id]; ok && !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
		if len(ids) > 0 {
			return "Approved " + strings.Join(ids, ", ") + ". The next run that applies (not a dry run) applies exactly " +
				map[bool]string{true: "this change", false: "these changes"}[len(ids) == 1] + "; run it now, or wait for the schedule."
		}
	}
	return ""
}

func (s *Server) render(w http.ResponseWriter, code int, p *consolePage) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	// No script at all; forms post only here; no other site may frame it.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; "+
		"frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(code)
	if err := consoleTemplate.Execute(w, p); err != nil {
		s.o.Logger.Warn("render the console", zap.Error(err))
	}
}

func (s *Server) renderLogin(w http.ResponseWriter, _ *http.Request, code int, why string) {
	s.render(w, code, &consolePage{Title: "syncd: sign in", Version: version.String(), Login: true, LoginError: why})
}

// explain runs the console's explain search.
func (s *Server) explain(w http.ResponseWriter, r *http.Request) {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		// A search costs a run's worth of reads: no other site's page may
		// start one (an image tag would).
		s.refused(r, "GET /explain", "cross-site request", zap.String("sec_fetch_site", quote(site)))
		plain(w, http.StatusForbidden, "cross-site request refused: GET /explain reads the directory and Teams")
		return
	}
	p := s.page(w, r)
	p.Email = strings.TrimSpace(r.URL.Query().Get("email"))
	code := http.StatusOK
	switch a, err := mail.ParseAddress(p.Email); {
	case p.Email == "":
		p.ExplainError = "Type an e-mail address to explain."
		code = http.StatusBadRequest
	case err != nil || a.Address != p.Email || len(p.Email) > 254:
		p.ExplainError = "That is not an e-mail address."
		code = http.StatusBadRequest
	default:
		http.NewResponseController(w).SetWriteDeadline(time.Now().Add(explainLimit + 10*time.Second))
		ctx, cancel := context.WithTimeout(r.Context(), explainLimit)
		defer cancel()
		ex, err := s.o.Console.Explain(ctx, p.Email)
		switch {
		case errors.Is(err, daemon.ErrBusy):
			p.ExplainError, code = "A sync run is going; explain again when it has ended.", http.StatusConflict
		case err != nil:
			p.ExplainError, code = "Could not explain: "+err.Error(), http.StatusBadGateway
		default:
			p.Explanation = ex
		}
	}
	s.render(w, code, p)
}

// consoleApprove records the approvals of the console's Approve buttons.
func (s *Server) consoleApprove(w http.ResponseWriter, r *http.Request) {
	ttl, err := formTTL(r.PostFormValue("ttl"))
	req := approval.Request{IDs: r.PostForm["id"], All: r.PostFormValue("all") != "", TTL: ttl,
		By: "web console (" + r.RemoteAddr + ")", Target: s.o.Console.Target()}
	var list []state.Approval
	if err == nil {
		list, err = approval.Approve(s.o.Console.Store(), req, time.Now())
	}
	if err != nil {
		p := s.page(w, r)
		p.Alert = "Nothing approved: " + err.Error()
		s.render(w, approvalStatus(err), p)
		return
	}
	ids := make([]string, len(list))
	for i, a := range list {
		ids[i] = a.ID
	}
	s.o.Logger.Info("held changes approved in the web console", zap.Strings("ids", ids), zap.String("remote", r.RemoteAddr))
	http.Redirect(w, r, "/?approved="+strings.Join(ids, ",")+"#held", http.StatusSeeOther)
}

// formTTL reads the console's validity choice.
func formTTL(v string) (time.Duration, error) {
	if v == "" {
		return approval.DefaultTTL, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, errors.New("the validity " + quote(v) + " is not a duration")
	}
	return d, nil
}

// consoleSync is the console's Run now button.
func (s *Server) consoleSync(w http.ResponseWriter, r *http.Request) {
	_, err := s.o.Scheduler.Trigger()
	switch {
	case errors.Is(err, daemon.ErrBusy):
		http.Redirect(w, r, "/?busy=1", http.StatusSeeOther)
	case err != nil:
		p := s.page(w, r)
		p.Alert = "Could not start a run: " + err.Error()
		s.render(w, http.StatusServiceUnavailable, p)
	default:
		s.o.Logger.Info("sync requested in the web console", zap.String("remote", r.RemoteAddr))
		http.Redirect(w, r, "/?started=1", http.StatusSeeOther)
	}
}

// runChanges says what a run of the history did, leaving out the zeros.
// In an apply, "planned" counts the applied and failed changes too.
func runChanges(r state.Run) string {
	n := r.Summary
	type count struct {
		n    int
		what string
	}
	counts := []count{{n["changes_planned"], "planned"}}
	if r.Mode == report.ModeApply {
		counts = []count{{n["changes_applied"], "applied"}, {n["changes_failed"], "failed"},
			{n["changes_planned"] - n["changes_applied"] - n["changes_failed"], "not attempted"}}
	}
	counts = append(counts, count{n["changes_held"], "held"}, count{r.Errors, "errors"})
	var parts []string
	for _, c := range counts {
		if c.n > 0 {
			parts = append(parts, strconv.Itoa(c.n)+" "+c.what)
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// sentence starts s with a capital letter.
func sentence(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05 MST")
}

func took(r state.Run) string {
	if r.FinishedAt.Before(r.StartedAt) {
		return "-"
	}
	d := r.FinishedAt.Sub(r.StartedAt)
	if d >= time.Second {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Millisecond).String()
}
