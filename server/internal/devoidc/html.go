package devoidc

import (
	"html/template"
	"net/http"
)

type field struct{ Name, Value string }

const pageHead = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>waxseal development login</title>
<style>body{font-family:sans-serif;max-width:36em;margin:3em auto}
.warn{background:#fee;border:2px solid #c00;padding:.5em 1em}</style></head><body>
<p class="warn"><strong>Development OIDC issuer.</strong> There is no password: anyone who can reach
this page can get a token for any email. Never expose it beyond your machine or test network.</p>
`

var loginTmpl = template.Must(template.New("login").Parse(pageHead + `
<h1>Sign in to {{.Issuer}}</h1>
<p>Client <code>{{.Client}}</code> will receive the token at <code>{{.Redirect}}</code>.</p>
<form method="post">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<label>Email <input type="email" name="email" required autofocus></label>
<button type="submit" name="action" value="login">Sign in</button>
<button type="submit" name="action" value="deny" formnovalidate>Cancel</button>
</form></body></html>
`))

var deviceTmpl = template.Must(template.New("device").Parse(pageHead + `
<h1>Sign in a device to {{.Issuer}}</h1>
<form method="post">
<p><label>Code shown on the device <input name="user_code" value="{{.UserCode}}" required></label></p>
<p><label>Email <input type="email" name="email"></label></p>
<button type="submit" name="action" value="approve">Approve</button>
<button type="submit" name="action" value="deny">Deny</button>
</form></body></html>
`))

var oobCodeTmpl = template.Must(template.New("oob").Parse(pageHead + `
<h1>Signed in</h1>
<p>Paste this code where <code>{{.Client}}</code> asks for it (valid for {{.TTL}}, once):</p>
<p><code id="code">{{.Code}}</code></p></body></html>
`))

var doneTmpl = template.Must(template.New("done").Parse(pageHead + `
<p>{{.Message}}</p></body></html>
`))

var errorTmpl = template.Must(template.New("error").Parse(pageHead + `
<h1>Error: {{.Code}}</h1><p>{{.Description}}</p></body></html>
`))

func renderPage(w http.ResponseWriter, status int, t *template.Template, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	t.Execute(w, data)
}

func renderError(w http.ResponseWriter, status int, code, desc string) {
	renderPage(w, status, errorTmpl, map[string]string{"Code": code, "Description": desc})
}
