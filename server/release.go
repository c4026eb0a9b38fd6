package server

import (
	"log/slog"

	"github.com/planbot/planbot/githubapp"
	"github.com/planbot/planbot/runner"
	"github.com/planbot/planbot/webhook"
)

// releaseAPI returns the release API when --api-token-file is set, nil
// otherwise (the API is off).
func (m *Main) releaseAPI(sec secured, app *githubapp.App, queue *runner.Queue, log *slog.Logger) *webhook.ReleaseAPI {
	if len(sec.secrets.APIToken) == 0 {
		return nil
	}
	o := m.Options
	return &webhook.ReleaseAPI{
		Token: sec.secrets.APIToken,
		Check: &runner.ReleaseChecker{
			Installation: app.RepoInstallation,
			GitHub:       func(id int64) runner.TagGitHub { return app.Installation(id) },
			AllowRepo:    o.AllowRepo,
		},
		Queue: m.store, Jobs: m.store, Notify: queue.Notify,
		Wait: min(o.ReleaseWait, o.WriteTimeout/2), Logger: log,
	}
}
