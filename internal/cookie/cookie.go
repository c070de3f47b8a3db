// Package cookie makes the cookies that the server's pages and its sign-in
// with Parley keep in a browser, and finds them in requests.
//
// All of them are HttpOnly, SameSite=Lax and for the whole site (Path=/).
// On a server reached over https they are also Secure and named with the
// __Host- prefix (RFC 6265bis, section 4.1.3.2): a browser then takes such
// a cookie only from this very host, over https, and never with a Domain
// attribute, so no other host under the same domain (a sibling subdomain
// someone else runs) and no page served over plain http can set one or
// overwrite it. Without the prefix, such a host could plant its own
// session in a member's browser, who would then write as someone else, or
// bind a sign-in request of its own to the member's browser. Over plain
// http, for loopback and development, the names go without the prefix,
// which browsers would refuse on cookies that are not Secure.
package cookie

import (
	"net/http"
	"strings"
	"time"
)

// hostPrefix is the prefix of a name that binds a cookie to its host.
const hostPrefix = "__Host-"

// Site says how a server's cookies are kept: Secure is set when the server
// is reached over https, its public URL's scheme.
type Site struct {
	Secure bool
}

// SiteOf returns how the cookies of the server at publicURL are kept:
// Secure when it is an https URL.
func SiteOf(publicURL string) Site {
	return Site{Secure: strings.HasPrefix(publicURL, "https://")}
}

// Name returns the name under which the browser keeps the cookie called
// name: name itself, or with the __Host- prefix on a secure site.
func (s Site) Name(name string) string {
	if s.Secure {
		return hostPrefix + name
	}
	return name
}

// New returns the cookie called name holding value for maxAge, to set with
// http.SetCookie: 0 keeps it until the browser closes, a negative maxAge
// removes it.
func (s Site) New(name, value string, maxAge time.Duration) *http.Cookie {
	seconds := int(maxAge / time.Second)
	if maxAge < 0 {
		seconds = -1
	}
	return &http.Cookie{
		Name: s.Name(name), Value: value, Path: "/", MaxAge: seconds,
		HttpOnly: true, Secure: s.Secure, SameSite: http.SameSiteLaxMode,
	}
}

// Value returns the value of r's cookie called name, and whether r has
// one. A cookie of that name without the prefix, on a secure site, is not
// the site's own and is not taken.
func (s Site) Value(r *http.Request, name string) (string, bool) {
	c, err := r.Cookie(s.Name(name))
	if err != nil {
		return "", false
	}
	return c.Value, true
}

// Names returns the names, the prefix taken off, of r's cookies that are
// the site's own.
func (s Site) Names(r *http.Request) []string {
	var names []string
	for _, c := range r.Cookies() {
		if !s.Secure {
			names = append(names, c.Name)
		} else if name, ok := strings.CutPrefix(c.Name, hostPrefix); ok {
			names = append(names, name)
		}
	}
	return names
}
