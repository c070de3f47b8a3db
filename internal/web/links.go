package web

import (
	"html/template"
	"net/url"
	"regexp"
	"strings"

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

// linkify writes a message's text as HTML: escaped, with each web address
// in it a link to that address, which opens in a new tab and tells the
// site nothing of where it came from. Nothing else becomes a link: no
// other scheme, and no address without one.
func linkify(text string) template.HTML {
	var b strings.Builder
	last := 0
	for _, loc := range webAddress.FindAllStringIndex(text, -1) {
		addr := text[loc[0]:loc[1]]
		if u, err := url.Parse(addr); err != nil || u.Host == "" {
			continue
		}
		b.WriteString(template.HTMLEscapeString(text[last:loc[0]]))
		b.WriteString(`<a href="`)
		b.WriteString(template.HTMLEscapeString(addr))
		b.WriteString(`" rel="noopener noreferrer nofollow ugc" target="_blank">`)
		b.WriteString(template.HTMLEscapeString(addr))
		b.WriteString(`</a>`)
		last = loc[1]
	}
	b.WriteString(template.HTMLEscapeString(text[last:]))
	return template.HTML(b.String())
}
