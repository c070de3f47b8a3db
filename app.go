package parley

import (
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// App client types (RFC 6749 section 2.1).
const (
	ClientConfidential = "confidential"
	ClientPublic       = "public"
)

// App states.
const (
	AppActive    = "active"
	AppSuspended = "suspended"
	// AppPending is an app a member registered while the server requires
	// review (--apps-require-review): no one may connect it until an
	// operator approves it.
	AppPending = "pending"
	// AppDeleted is an app an operator or its owner deleted: it works
	// nowhere again, and is listed nowhere, but its row stays for the
	// members' history and access logs that name it.
	AppDeleted = "deleted"
)

// Refusal says why no token of the app works, in words its developer can
// act on, or returns "" while it is active.
func (a *App) Refusal() string {
	switch a.State {
	case AppActive:
		return ""
	case AppPending:
		return "the app awaits an operator's review"
	case AppDeleted:
		return "the app was deleted"
	}
	return "the app is suspended"
}

// Limits on app registrations.
const (
	MaxAppNameLen     = 64
	MaxAppPurposeLen  = 500
	MaxRedirectURIs   = 10
	MaxRedirectURILen = 512
	// AppSecretRotation is how long the client secret a rotation replaced
	// keeps authenticating the app beside the new one, as
	// WebhookSecretRotation is for a webhook's signing secret.
	AppSecretRotation = 24 * time.Hour
	// MaxOwnApps is how many apps, not deleted, a member may own and still
	// register another themselves, so that one account cannot fill the
	// server with apps. It does not bound the webhook deliveries a
	// member's grants make a message cost, as a member may connect apps
	// other accounts registered: MaxConnectedApps does. Apps an operator
	// registers for a member count, but the cap does not stop the
	// operator: that is their decision.
	MaxOwnApps = 10
	// MaxAppsPerDay is how many apps a member may register themselves in
	// any 24 hours, deleted since or not, those an operator registered for
	// them included. Deleting an app makes room under MaxOwnApps, and its
	// row stays for the histories that name it: without this, one account
	// registering and deleting in a loop would grow the apps table without
	// end. Twice MaxOwnApps lets a developer replace every app they have,
	// and then do it again, in a day.
	MaxAppsPerDay = 2 * MaxOwnApps
)

// App is a partner application: an OAuth 2.0 client. Its secret's hash is
// never part of this type.
type App struct {
	ClientID     string   `json:"client_id"`
	Name         string   `json:"name"`
	OwnerID      string   `json:"owner_id,omitempty"`
	RedirectURIs []string `json:"redirect_uris"`
	Homepage     string   `json:"homepage,omitempty"`
	Purpose      string   `json:"purpose,omitempty"`
	ClientType   string   `json:"client_type"`
	State        string   `json:"state"`
	// AllThreadsApproved is set by an operator's review: only then may
	// members grant the app thread scope "all".
	AllThreadsApproved bool      `json:"all_threads_approved"`
	CreatedAt          time.Time `json:"created_at"`
	// OldSecretUntil is when the client secret a rotation replaced stops
	// authenticating the app; nil when no rotation left one, or the owner
	// ended it.
	OldSecretUntil *time.Time `json:"old_secret_until,omitempty"`
}

// OldSecretWorks reports whether the client secret a rotation replaced
// still authenticates the app at t.
func (a *App) OldSecretWorks(t time.Time) bool {
	return a.OldSecretUntil != nil && t.Before(*a.OldSecretUntil)
}

// Validate checks a registration.
func (a *App) Validate() error {
	name := strings.TrimSpace(a.Name)
	if name == "" || utf8.RuneCountInString(name) > MaxAppNameLen || !utf8.ValidString(name) || hiddenIn(name, false) || !strings.ContainsFunc(name, showsInName) {
		return Errorf(EINVALID, "name must be 1 to %d printable characters", MaxAppNameLen)
	}
	if utf8.RuneCountInString(a.Purpose) > MaxAppPurposeLen || !utf8.ValidString(a.Purpose) {
		return Errorf(EINVALID, "purpose must be at most %d characters", MaxAppPurposeLen)
	}
	if hasNUL(a.Purpose) {
		return Errorf(EINVALID, "purpose must not contain NUL")
	}
	// Lines break it (a form's text box sends CR LF); no other control
	// does, nor may a control of direction reverse the page's words around
	// it on the consent page.
	if strings.ContainsFunc(a.Purpose, func(r rune) bool { return isControl(r) && r != '\n' && r != '\r' && r != '\t' }) {
		return Errorf(EINVALID, "purpose must not contain control characters or controls of the direction of text")
	}
	if a.ClientType != ClientConfidential && a.ClientType != ClientPublic {
		return Errorf(EINVALID, "client type must be confidential or public")
	}
	if len(a.RedirectURIs) == 0 || len(a.RedirectURIs) > MaxRedirectURIs {
		return Errorf(EINVALID, "give 1 to %d redirect URIs", MaxRedirectURIs)
	}
	for _, u := range a.RedirectURIs {
		if err := validateRedirectURI(u); err != nil {
			return err
		}
	}
	if a.Homepage != "" {
		// Every consent page of the app shows it: no longer than a
		// redirect URI may be.
		if len(a.Homepage) > MaxRedirectURILen {
			return Errorf(EINVALID, "homepage must be at most %d characters", MaxRedirectURILen)
		}
		u, ok := parseWebURL(a.Homepage)
		if !ok {
			return Errorf(EINVALID, "homepage must be an http or https URL, with any space or non-ASCII character percent-encoded, an internationalised host in its ASCII (punycode) form and a port, if any, from 1 to 65535")
		}
		if u.User != nil {
			return Errorf(EINVALID, "homepage must not hold a user name or password before its host")
		}
	}
	return nil
}

// ServerName is this software's name, which only an operator may give an
// app (see NamesServer): on a consent page, an app a member registered
// under it would pass for the server asking for itself.
const ServerName = "Parley"

// AppNameKey is the form of an app's name that two names share when a
// reader would take them for the same name: Unicode NFKC, case folded
// ("FILMS", "Films" and "Ｆｉｌｍｓ" in full-width letters share one). It does
// not fold confusables from other scripts: "Pаrley" with a Cyrillic "а"
// keeps its own key, as no table of lookalikes is kept here. The consent
// page's line saying who registered an app, and whether this server's
// operators reviewed it, is what stands against those.
func AppNameKey(name string) string {
	return norm.NFKC.String(cases.Fold().String(norm.NFKC.String(strings.TrimSpace(name))))
}

// NamesServer reports whether an app's name holds the server's own name,
// ServerName, by AppNameKey and with all but letters and digits left out,
// so that "Parley Security", "PARLEY" and "P.a.r.l.e.y" do. Like
// AppNameKey, it does not catch lookalikes from other scripts.
func NamesServer(name string) bool {
	letters := strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return -1
	}, AppNameKey(name))
	return strings.Contains(letters, AppNameKey(ServerName))
}

// responseParams are the parameters an authorization response adds to the
// redirect URI's query (RFC 6749 section 4.1.2, RFC 9207).
var responseParams = []string{"code", "state", "iss", "error", "error_description", "error_uri"}

// validateRedirectQuery accepts a redirect URI's query that an
// authorization response keeps whole, as RFC 6749 section 3.1.2 requires:
// pairs joined by '&' ('&' alone: the response is built with Go's
// url.Values, which drops a pair holding ';'), none of them named as a
// parameter the response adds.
func validateRedirectQuery(raw string) error {
	if raw == "" {
		return nil
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return fmt.Errorf("its query must be name=value pairs joined by '&', without ';'")
	}
	for _, name := range responseParams {
		if q.Has(name) {
			return fmt.Errorf("its query must not hold %s, which the authorization response adds", name)
		}
	}
	return nil
}

// validateRedirectURI accepts absolute URIs without a fragment (RFC 6749
// section 3.1.2): https anywhere, http only on loopback hosts (RFC 8252
// section 7.3), or a private-use scheme for native apps.
func validateRedirectURI(raw string) error {
	u, ok := parseURI(raw)
	if !ok || len(raw) > MaxRedirectURILen || strings.Contains(raw, "#") {
		return Errorf(EINVALID, "redirect URI %q must be an absolute URI without a fragment, with any space or non-ASCII character percent-encoded and a port, if any, from 1 to 65535", raw)
	}
	if u.User != nil {
		return Errorf(EINVALID, "redirect URI %q must not hold a user name or password before its host", raw)
	}
	if err := validateRedirectQuery(u.RawQuery); err != nil {
		return Errorf(EINVALID, "redirect URI %q: %v", raw, err)
	}
	switch u.Scheme {
	case "https":
		// RFC 9110 section 4.2.2: an https URI has a host. A browser takes
		// "https:cb" as a path on the page's own origin, Parley's.
		if u.Host == "" {
			return Errorf(EINVALID, "redirect URI %q: an https URI needs a host", raw)
		}
	case "http":
		if h := u.Hostname(); h != "localhost" && h != "127.0.0.1" && h != "::1" {
			return Errorf(EINVALID, "redirect URI %q: plain http is allowed only on loopback", raw)
		}
	default:
		if !strings.Contains(u.Scheme, ".") {
			return Errorf(EINVALID, "redirect URI %q: a native app's scheme must be a reverse domain name", raw)
		}
	}
	return nil
}
