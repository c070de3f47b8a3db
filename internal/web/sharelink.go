package web

import (
	"net/http"
	"strings"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/service"
)

// handleShareLink follows a share card's tracked link: 303 to the card's
// URL, telling the destination nothing of where the visitor came from.
// Only a person's click counts (countsAsClick); every other request is
// redirected all the same. An unknown, malformed or deleted link is a 404
// page, never a redirect.
func (p *Pages) handleShareLink(w http.ResponseWriter, r *http.Request) {
	target, err := p.svc.FollowShareLink(r.Context(), r.PathValue("token"), countsAsClick(r))
	if parley.ErrorCode(err) == parley.ENOTFOUND {
		p.render(w, http.StatusNotFound, "error", errorPage{
			Title: "Link not found", Error: "this link is unknown, or what it led to was deleted",
		})
		return
	} else if err != nil {
		p.renderError(w, err)
		return
	}
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, target, http.StatusSeeOther)
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
