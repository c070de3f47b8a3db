package web

import (
	"html/template"
	"net/url"
	"regexp"
	"strings"

	"github.com/parleyhq/parley"
	"mvdan.cc/xurls/v2"
)

// webAddress finds the web addresses a message's text holds: those that
// start http:// or https://, as a person pastes them. The rules of where
// one ends (trailing punctuation, brackets) are xurls'.
var webAddress = func() *regexp.Regexp {
	re, err := xurls.StrictMatchingScheme(`https?://`)
	if err != nil {
		panic(err)
	}
	return re
}()

// linkify writes a message's text as HTML, to the member with the
// username me: escaped, with each web address in it a link to that
// address, which opens in a new tab and tells the site nothing of where it
// came from, and each mention of me marked (mentions). Nothing else
// becomes a link: no other scheme, no address without one, and none that
// reads as another site (readsAsAnotherSite). Each link is written left
// to right, isolated from the text around it (dir="ltr"), so that it
// reads as the address it leads to: a control of direction before it
// (U+202E, RIGHT-TO-LEFT OVERRIDE) would draw it reversed, and a link to
// https://evil.example/moc.knab//:sptth would read https://bank.com/….
func linkify(text, me string) template.HTML {
	var b strings.Builder
	last := 0
	for _, loc := range webAddress.FindAllStringIndex(text, -1) {
		addr := text[loc[0]:loc[1]]
		if u, err := url.Parse(addr); err != nil || u.Host == "" || parley.ReadsAsAnotherSite(u) {
			continue
		}
		writeMarked(&b, text[last:loc[0]], me)
		b.WriteString(`<a href="`)
		b.WriteString(template.HTMLEscapeString(addr))
		b.WriteString(`" rel="noopener noreferrer nofollow ugc" target="_blank" dir="ltr">`)
		b.WriteString(template.HTMLEscapeString(addr))
		b.WriteString(`</a>`)
		last = loc[1]
	}
	writeMarked(&b, text[last:], me)
	return template.HTML(b.String())
}

// writeMarked writes text escaped, with each mention of the username me
// in it marked.
func writeMarked(b *strings.Builder, text, me string) {
	last := 0
	for _, at := range mentions(text, me) {
		b.WriteString(template.HTMLEscapeString(text[last:at]))
		b.WriteString(`<span class="mention">`)
		b.WriteString(template.HTMLEscapeString(text[at : at+1+len(me)]))
		b.WriteString(`</span>`)
		last = at + 1 + len(me)
	}
	b.WriteString(template.HTMLEscapeString(text[last:]))
}

// mentions returns where text mentions the member with the username: the
// offset of each "@username", in any case, that is not the start of a
// longer username (@alice_b, @alice.b; a dot after it ends a sentence) nor
// the @ of an address: the @ starts a mention unless the character before
// it could end an address's local part, an ASCII letter or digit or one of
// . _ % + - (alice@alice.com). Any other character may come before it, a
// Chinese or Japanese one too, where words have no spaces between them
// (谢谢@alice). The messenger's script offers mentions by the same rule
// (static/messenger.js, mentionAt).
func mentions(text, username string) []int {
	var found []int
	for i := 0; username != ""; {
		j := strings.IndexByte(text[i:], '@')
		if j < 0 {
			break
		}
		at, end := i+j, i+j+1+len(username)
		i = at + 1
		if end > len(text) || !strings.EqualFold(text[at+1:end], username) {
			continue
		}
		if at > 0 && localPartByte(text[at-1]) {
			continue
		}
		if end < len(text) && (usernameByte(text[end]) || text[end] == '.' && end+1 < len(text) && usernameByte(text[end+1])) {
			continue
		}
		found = append(found, at)
	}
	return found
}

// localPartByte reports whether c may end an e-mail address's local part,
// as mentions reads one: an ASCII letter or digit, or one of . _ % + -.
// A byte of a character beyond ASCII is none of them.
func localPartByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("._%+-", c) >= 0
}

// usernameByte reports whether c may be part of a username other than a
// dot, in either case.
func usernameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}
