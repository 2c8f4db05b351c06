package devoidc

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// deviceGrant is an RFC 8628 device authorization in progress.
type deviceGrant struct {
	clientID string
	userCode string
	expiry   time.Time
	lastPoll time.Time
	state    deviceState
	email    string
}

type deviceState int

const (
	devicePending deviceState = iota
	deviceApproved
	deviceDenied
)

// userCodeAlphabet has no vowels (no words) and no look-alikes, as RFC 8628 §6.1 suggests.
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

func newUserCode() string {
	b := make([]byte, 8)
	rand.Read(b)
	var s strings.Builder
	for i, c := range b {
		if i == 4 {
			s.WriteByte('-')
		}
		// 256 % 20 != 0 biases this slightly; irrelevant for a development issuer.
		s.WriteByte(userCodeAlphabet[int(c)%len(userCodeAlphabet)])
	}
	return s.String()
}

// normalizeUserCode makes user input like "bcdf ghjk" match "BCDF-GHJK".
func normalizeUserCode(s string) string {
	s = strings.ToUpper(s)
	s = strings.Map(func(r rune) rune {
		if strings.ContainsRune(userCodeAlphabet, r) {
			return r
		}
		return -1
	}, s)
	if len(s) != 8 {
		return s
	}
	return s[:4] + "-" + s[4:]
}

func (p *Provider) serveDeviceCode(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	clientID := r.PostForm.Get("client_id")
	if user, _, ok := r.BasicAuth(); ok && clientID == "" {
		clientID, _ = url.QueryUnescape(user)
	}
	if !slices.Contains(p.clients, clientID) {
		tokenError(w, http.StatusBadRequest, "invalid_client", "unknown client_id "+quote(clientID))
		return
	}
	dc := randomToken()
	p.mu.Lock()
	p.sweepLocked()
	uc := newUserCode()
	for p.users[uc] != "" {
		uc = newUserCode()
	}
	p.devices[dc] = &deviceGrant{clientID: clientID, userCode: uc, expiry: p.now().Add(deviceCodeTTL)}
	p.users[uc] = dc
	p.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"device_code":               dc,
		"user_code":                 uc,
		"verification_uri":          p.issuer + "/device",
		"verification_uri_complete": p.issuer + "/device?user_code=" + url.QueryEscape(uc),
		"expires_in":                int64(deviceCodeTTL / time.Second),
		"interval":                  p.intervalSeconds(),
	})
}

func (p *Provider) intervalSeconds() int64 {
	return int64((p.interval + time.Second - 1) / time.Second)
}

func (p *Provider) redeemDeviceCode(w http.ResponseWriter, clientID string, f url.Values) {
	dc := f.Get("device_code")
	now := p.now()
	p.mu.Lock()
	d, ok := p.devices[dc]
	var (
		state       deviceState
		email       string
		tooFast     bool
		expired     bool
		wrongClient bool
	)
	if ok {
		wrongClient = d.clientID != clientID
		expired = !now.Before(d.expiry)
		// Tolerate some jitter: a client ticking at exactly the interval must not be
		// told to slow down because one request was delayed.
		tooFast = !d.lastPoll.IsZero() && now.Sub(d.lastPoll) < p.interval/2
		d.lastPoll = now
		state, email = d.state, d.email
		if !wrongClient && !expired && state != devicePending {
			// Approved or denied: the device code is spent.
			delete(p.devices, dc)
			delete(p.users, d.userCode)
		}
	}
	p.mu.Unlock()
	switch {
	case dc == "":
		tokenError(w, http.StatusBadRequest, "invalid_request", "missing device_code")
	case !ok:
		tokenError(w, http.StatusBadRequest, "invalid_grant", "unknown or already used device_code")
	case wrongClient:
		tokenError(w, http.StatusBadRequest, "invalid_grant", "device_code was issued to another client")
	case expired:
		tokenError(w, http.StatusBadRequest, "expired_token", "the device code expired; start again")
	case state == deviceDenied:
		tokenError(w, http.StatusBadRequest, "access_denied", "the user denied the request")
	case state == deviceApproved:
		p.issueTokens(w, clientID, email, "")
	case tooFast:
		tokenError(w, http.StatusBadRequest, "slow_down", "polling too fast; add 5 seconds to the interval")
	default:
		tokenError(w, http.StatusBadRequest, "authorization_pending", "waiting for the user to approve at "+p.issuer+"/device")
	}
}

func (p *Provider) serveDevicePage(w http.ResponseWriter, r *http.Request) {
	renderPage(w, http.StatusOK, deviceTmpl, map[string]any{
		"Issuer": p.issuer, "UserCode": r.URL.Query().Get("user_code"),
	})
}

// serveDeviceDecision handles the device page's form: "user_code", "email" and
// "action" = "approve" or "deny".
func (p *Provider) serveDeviceDecision(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		renderError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	f := r.PostForm
	uc := normalizeUserCode(f.Get("user_code"))
	action := f.Get("action")
	var email string
	switch action {
	case "approve":
		var err error
		if email, err = parseEmail(f.Get("email")); err != nil {
			renderError(w, http.StatusBadRequest, "invalid_request", err.Error())
			return
		}
	case "deny":
	default:
		renderError(w, http.StatusBadRequest, "invalid_request", `action must be "approve" or "deny"`)
		return
	}
	now := p.now()
	p.mu.Lock()
	d := p.devices[p.users[uc]]
	ok := d != nil && now.Before(d.expiry) && d.state == devicePending
	if ok {
		if action == "approve" {
			d.state, d.email = deviceApproved, email
		} else {
			d.state = deviceDenied
		}
	}
	p.mu.Unlock()
	if !ok {
		renderError(w, http.StatusBadRequest, "invalid_grant", "unknown, expired or already used user code "+quote(uc))
		return
	}
	msg := "Denied. The device will not get a token."
	if action == "approve" {
		msg = "Approved: the device is signed in as " + email + ". You can close this tab."
	}
	renderPage(w, http.StatusOK, doneTmpl, map[string]any{"Message": msg})
}
