package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/service"
)

// handleShareLink follows a share card's tracked link, telling the
// destination nothing of where the visitor came from. The member the link
// was made for, signed in to Parley in this browser and following it from
// Parley's pages or by hand as the browser says (saysOpenedByMember),
// goes straight on (303); anyone else is shown where the link leads and
// goes on with a click of their own. A navigation another site starts
// carries the session cookie too, and the app that sent the card knows
// its own links and chooses where they lead: going straight on there
// would tell the app, whenever it liked, which member was signed in to the
// browser visiting it, and with no click counted, no trace of it. So a
// browser that does not say where a navigation came from (it sends no
// Fetch Metadata) is shown the page too. A link is Parley's address, and
// whoever can send a card can make one that leads anywhere: without that
// page, a link passed on outside Parley would lend Parley's name to the
// place it leads, a page that looks like Parley's sign-in among them (an
// open redirect). Only a person's click counts (countsAsClick), whichever
// way it goes on. An unknown, malformed or deleted link is a 404 page,
// never a redirect.
func (p *Pages) handleShareLink(w http.ResponseWriter, r *http.Request) {
	visit, err := p.svc.FollowShareLink(r.Context(), r.PathValue("token"), countsAsClick(r))
	if parley.ErrorCode(err) == parley.ENOTFOUND {
		p.render(w, http.StatusNotFound, "error", errorPage{
			Title: "Link not found", Error: "this link is unknown, or what it led to was deleted",
		})
		return
	} else if err != nil {
		p.renderError(w, r, err)
		return
	}
	w.Header().Set("Referrer-Policy", "no-referrer")
	if saysOpenedByMember(r) && p.signedInAs(r, visit.MemberID) {
		http.Redirect(w, r, visit.URL, http.StatusSeeOther)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	host := visit.URL
	if u, err := url.Parse(visit.URL); err == nil {
		host = u.Host
	}
	p.render(w, http.StatusOK, "leaving", leavingPage{Title: "Leaving Parley", URL: visit.URL, Host: host})
}

// leavingPage shows where a share link leads, to a visitor who is not the
// member it was made for.
type leavingPage struct{ Title, URL, Host string }

// signedInAs reports whether the request's session cookie signs in the
// member with the ID userID.
func (p *Pages) signedInAs(r *http.Request, userID string) bool {
	ctx, err := p.member(r)
	return err == nil && parley.CallerFromContext(ctx).User.ID == userID
}

// previewAgents are words in the User-Agent of link-preview fetchers and
// crawlers, which announce themselves as browsers too; compared in lower
// case.
var previewAgents = []string{
	"bot", "preview", "crawl", "spider", "slurp", "fetch", "facebookexternalhit", "facebookcatalog",
	"whatsapp", "skypeuripreview", "embedly", "vkshare", "pinterest", "bitlybot", "outbrain",
	"google-pagerenderer", "headlesschrome", "lighthouse", "curl", "wget",
}

// countsAsClick reports whether a request for a share link is a person's
// click: a GET from a browser, whose User-Agent starts Mozilla/ as every
// browser's does, and neither a link-preview fetcher nor a prefetch.
func countsAsClick(r *http.Request) bool {
	if r.Method != http.MethodGet {
		return false
	}
	ua := r.Header.Get("User-Agent")
	if !strings.HasPrefix(ua, "Mozilla/") {
		return false
	}
	lower := strings.ToLower(ua)
	for _, word := range previewAgents {
		if strings.Contains(lower, word) {
			return false
		}
	}
	purpose := strings.ToLower(r.Header.Get("Sec-Purpose") + r.Header.Get("Purpose") + r.Header.Get("X-Purpose"))
	return !strings.Contains(purpose, "prefetch") && !strings.Contains(purpose, "preview")
}

// shareLinkPattern is the route of share links; it takes every path under
// them, so that a malformed one is answered with the same page.
const shareLinkPattern = "GET " + service.ShareLinkPath + "{token...}"
