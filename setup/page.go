package setup

import "html/template"

// formData fills the setup page.
type formData struct {
	Action      string
	Manifest    any
	Name, Org   string
	GitHub      string
	WebhookURL  string
	CallbackURL string
	Permissions []pair
	Events      []string
}

// formPage is the setup page: a form that POSTs the manifest to GitHub.
// html/template escapes the manifest's JSON into the attribute.
var formPage = template.Must(template.New("form").Funcs(template.FuncMap{"json": toJSON}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>planbot setup</title></head>
<body>
<h1>Create the GitHub App {{.Name}}</h1>
<p>The button sends this manifest to {{.GitHub}}{{if .Org}} for the organization <b>{{.Org}}</b>{{else}} for your personal account{{end}}.
GitHub shows it to you (you can change the name there) and, once you click <i>Create GitHub App</i>, sends this browser back here.</p>
<p>Webhooks go to <code>{{.WebhookURL}}</code>. The login with GitHub of planbot's web page comes back to <code>{{.CallbackURL}}</code>.</p>
<h2>Permissions</h2>
<ul>{{range .Permissions}}<li>{{.Key}}: {{.Value}}</li>{{end}}</ul>
<h2>Events</h2>
<ul>{{range .Events}}<li>{{.}}</li>{{end}}</ul>
<form action="{{.Action}}" method="post">
<input type="hidden" name="manifest" value="{{json .Manifest}}">
<button type="submit">Create the GitHub App on GitHub</button>
</form>
</body></html>
`))

// doneData fills the page GitHub's redirect lands on.
type doneData struct {
	App     App
	Install string
	Err     string
}

// donePage says what happened; it never shows a secret.
var donePage = template.Must(template.New("done").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>planbot setup</title></head>
<body>
{{if .Err}}<h1>The App was not set up</h1>
<p>{{.Err}}</p>
{{else}}<h1>The GitHub App {{.App.Name}} was created</h1>
<p>Its private key, webhook secret and client secret are in files of mode 0600; the terminal names them and prints the command that starts planbot.</p>
{{if .Install}}<p>Next, <a href="{{.Install}}">install the App</a> on the repositories planbot should plan.</p>{{end}}
<p>You can close this page.</p>
{{end}}</body></html>
`))
