package devoidc

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"
)

// Workload is the identity behind a GitHub-Actions-style request token: the claims of
// the tokens /actions/token mints for it, named and typed (all strings) as in GitHub's
// tokens (https://docs.github.com/actions/reference/openid-connect-reference).
type Workload struct {
	// Subject is the `sub` claim. Default "repo:<repository>:ref:<ref>", GitHub's
	// default subject format.
	Subject string `json:"sub,omitempty"`

	Repository           string `json:"repository"`
	RepositoryID         string `json:"repository_id"`
	RepositoryOwner      string `json:"repository_owner"`
	RepositoryOwnerID    string `json:"repository_owner_id"`
	RepositoryVisibility string `json:"repository_visibility"`
	Ref                  string `json:"ref"`
	RefType              string `json:"ref_type,omitempty"`
	SHA                  string `json:"sha"`
	Workflow             string `json:"workflow"`
	WorkflowRef          string `json:"workflow_ref"`
	WorkflowSHA          string `json:"workflow_sha"`
	JobWorkflowRef       string `json:"job_workflow_ref"`
	JobWorkflowSHA       string `json:"job_workflow_sha"`
	EventName            string `json:"event_name"`
	RunID                string `json:"run_id"`
	RunNumber            string `json:"run_number,omitempty"`
	RunAttempt           string `json:"run_attempt"`
	RunnerEnvironment    string `json:"runner_environment"`
	Environment          string `json:"environment,omitempty"`
	Actor                string `json:"actor,omitempty"`
	ActorID              string `json:"actor_id,omitempty"`
}

// workloadClaimNames are the claims a Workload can carry besides the registered ones.
var workloadClaimNames = []string{
	"repository", "repository_id", "repository_owner", "repository_owner_id",
	"repository_visibility", "ref", "ref_type", "sha", "workflow", "workflow_ref",
	"workflow_sha", "job_workflow_ref", "job_workflow_sha", "event_name", "run_id",
	"run_number", "run_attempt", "runner_environment", "environment", "actor", "actor_id",
}

// DefaultWorkloadToken is the request token of the default workload.
const DefaultWorkloadToken = "waxseal-dev-actions-request-token"

// DefaultWorkloads returns the workloads used when Config.Workloads is nil: one
// workflow, .github/workflows/release.yml of waxseal/demo, run on a push to main.
func DefaultWorkloads() map[string]Workload {
	const sha = "0123456789abcdef0123456789abcdef01234567"
	return map[string]Workload{DefaultWorkloadToken: {
		Repository:           "waxseal/demo",
		RepositoryID:         "100000001",
		RepositoryOwner:      "waxseal",
		RepositoryOwnerID:    "100000000",
		RepositoryVisibility: "public",
		Ref:                  "refs/heads/main",
		RefType:              "branch",
		SHA:                  sha,
		Workflow:             "release",
		WorkflowRef:          "waxseal/demo/.github/workflows/release.yml@refs/heads/main",
		WorkflowSHA:          sha,
		JobWorkflowRef:       "waxseal/demo/.github/workflows/release.yml@refs/heads/main",
		JobWorkflowSHA:       sha,
		EventName:            "push",
		RunID:                "4242",
		RunNumber:            "7",
		RunAttempt:           "1",
		RunnerEnvironment:    "github-hosted",
		Actor:                "alice",
		ActorID:              "100000002",
	}}
}

// LoadWorkloads reads a workloads file: a JSON object from request token to the claims
// of its workload, e.g.
//
//	{"my-request-token": {"repository": "acme/app", "repository_id": "1", ...}}
//
// Claim names are those of Workload's JSON tags. Unknown claims are an error, so that
// a typo does not silently mint a token without the claim.
func LoadWorkloads(path string) (map[string]Workload, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("devoidc: workloads: %w", err)
	}
	var m map[string]Workload
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("devoidc: workloads %s: %w", path, err)
	}
	for tok, w := range m {
		if tok == "" {
			return nil, fmt.Errorf("devoidc: workloads %s: empty request token", path)
		}
		if w.Subject == "" && (w.Repository == "" || w.Ref == "") {
			return nil, fmt.Errorf("devoidc: workloads %s: workload needs sub, or repository and ref", path)
		}
	}
	return m, nil
}

func (p *Provider) lookupWorkload(token string) (Workload, bool) {
	// Compare against every token in constant time: the request token is a credential.
	var found Workload
	ok := false
	for t, w := range p.workloads {
		if subtle.ConstantTimeCompare([]byte(t), []byte(token)) == 1 {
			found, ok = w, true
		}
	}
	return found, ok
}

// serveActionsToken mimics GitHub's ACTIONS_ID_TOKEN_REQUEST_URL: a GET with the request
// token as a bearer credential and an optional audience; the answer is {"value": JWT}.
func (p *Provider) serveActionsToken(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	// The scheme is case-insensitive (RFC 9110, section 11.1): cosign's
	// GitHub provider, which sigstore's gitsign uses too, sends "bearer".
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="devoidc actions"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "missing bearer request token"})
		return
	}
	wl, ok := p.lookupWorkload(tok)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="devoidc actions", error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "unknown request token"})
		return
	}
	aud := r.URL.Query().Get("audience")
	if aud == "" {
		aud = p.audience
	}
	claims := map[string]any{}
	b, _ := json.Marshal(wl)
	json.Unmarshal(b, &claims)
	if wl.Subject == "" {
		claims["sub"] = "repo:" + wl.Repository + ":ref:" + wl.Ref
	}
	now := p.now()
	claims["iss"] = p.ActionsIssuer()
	claims["aud"] = aud
	claims["iat"] = now.Unix()
	claims["nbf"] = now.Add(-5 * time.Second).Unix()
	claims["exp"] = now.Add(p.ttl).Unix()
	claims["jti"] = randomToken()
	jwt, err := p.sign(claims)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"message": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"value": jwt})
}
