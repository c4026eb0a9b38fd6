package web

import (
	"context"
	"net/http"
	"strings"

	"golang.org/x/oauth2"
)

// safeReturn returns where to go after the login: a path on this site,
// "/" for anything else (an open redirect otherwise).
func safeReturn(s string) string {
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.HasPrefix(s, "/\\") || strings.ContainsAny(s, "\r\n") {
		return "/"
	}
	return s
}

// login starts GitHub's web flow: a fresh state, kept in a sealed
// cookie, and the redirect to the authorize page.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	st := loginState{State: randomID(), Return: safeReturn(r.URL.Query().Get("return")), Expires: h.now().Add(stateTTL)}
	v, err := h.sealer.seal(stateCookie, st)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, "Could not start the login.")
		return
	}
	http.SetCookie(w, h.cookie(r, stateCookie, v, st.Expires))
	http.Redirect(w, r, h.oauth.AuthCodeURL(st.State), http.StatusFound)
}

// callback ends the web flow: the state must be the one this browser was
// given, the code is exchanged for a user token, the user looked up, and
// the session cookie set. The token is never logged nor put in a URL.
func (h *Handler) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c, err := r.Cookie(stateCookie)
	var st loginState
	switch {
	case err != nil:
		h.fail(w, r, http.StatusBadRequest, "The login has no state cookie: start again from the login page.")
		return
	case h.sealer.open(stateCookie, c.Value, &st) != nil || !h.now().Before(st.Expires):
		h.fail(w, r, http.StatusBadRequest, "The login's state expired or is not planbot's: start again from the login page.")
		return
	case q.Get("state") == "" || q.Get("state") != st.State:
		h.fail(w, r, http.StatusBadRequest, "The login's state does not match: start again from the login page.")
		return
	case q.Get("code") == "":
		h.fail(w, r, http.StatusBadRequest, "GitHub sent no code: "+q.Get("error_description"))
		return
	}
	http.SetCookie(w, h.clearCookie(r, stateCookie))
	ctx := context.WithValue(r.Context(), oauth2.HTTPClient, h.Client)
	tok, err := h.oauth.Exchange(ctx, q.Get("code"))
	if err != nil {
		h.Logger.Warn("web: login: the code was not exchanged", "err", err)
		h.fail(w, r, http.StatusUnauthorized, "GitHub did not accept the login; start again from the login page.")
		return
	}
	login, err := h.userLogin(r.Context(), tok.AccessToken)
	if err != nil {
		h.Logger.Warn("web: login: reading the user", "err", err)
		h.fail(w, r, http.StatusBadGateway, "GitHub could not tell who you are; try again shortly.")
		return
	}
	exp := h.now().Add(sessionTTL)
	if !tok.Expiry.IsZero() && tok.Expiry.Before(exp) {
		exp = tok.Expiry
	}
	v, err := h.sealer.seal(sessionCookie, session{ID: randomID(), Login: login, Token: tok.AccessToken, Expires: exp})
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, "Could not start the session.")
		return
	}
	http.SetCookie(w, h.cookie(r, sessionCookie, v, exp))
	h.Logger.Info("web: logged in", "user", login)
	http.Redirect(w, r, safeReturn(st.Return), http.StatusSeeOther)
}

// logout ends the session.
func (h *Handler) logout(w http.ResponseWriter, r *request) {
	h.forget(r.s.ID)
	http.SetCookie(w, h.clearCookie(r.Request, sessionCookie))
	h.render(w, nil, http.StatusOK, "message", "Logged out", map[string]any{"Message": "You are logged out."})
}
