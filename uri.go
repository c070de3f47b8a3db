package parley

import (
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// uriChars are the characters RFC 3986 allows in a URI (section 2): the
// unreserved, the reserved, and '%' for escapes.
const uriChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;=%"

// parseURI parses an absolute URI spelled as RFC 3986 has it: only the
// ASCII characters it allows, each '%' followed by two hex digits. A space,
// a control or a non-ASCII character, such as an internationalised host or
// path not yet encoded, makes it no URI: such input is refused, never
// repaired, so what is stored and shown is what was sent. A host has no
// escapes: url.Parse would decode them, so "%D0%B0pple.com" would be shown
// as a look-alike of apple.com (its a Cyrillic), which its punycode form
// would not be. A port, if any, is 1 to 65535.
func parseURI(s string) (*url.URL, bool) {
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune(uriChars, rune(s[i])) {
			return nil, false
		}
		if s[i] == '%' && (i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2])) {
			return nil, false
		}
	}
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || hostNotASCII(u.Host) {
		return nil, false
	}
	// A port, if given, is one a connection can be made to: url.Parse
	// takes any digits (99999, 0), which only fail when the URL is used.
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, false
		}
	}
	return u, true
}

// hostNotASCII reports whether a URL's host is not in its ASCII form: it
// holds a non-ASCII character, where a letter can be another's look-alike
// (the Cyrillic а of аpple.com), or an escape of one.
func hostNotASCII(host string) bool {
	return strings.ContainsFunc(host, func(r rune) bool { return r >= utf8.RuneSelf || r == '%' })
}

// ReadsAsAnotherSite reports whether u can be read as another site than it
// leads to: it has a user name before its host
// (https://films.example@evil.example/ leads to evil.example), or a host
// not in its ASCII form. A share card's URL is neither (Share.Validate),
// and the pages link no address that is either.
func ReadsAsAnotherSite(u *url.URL) bool {
	return u.User != nil || hostNotASCII(u.Host)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// parseWebURL parses an absolute http or https URI with a host.
func parseWebURL(s string) (*url.URL, bool) {
	u, ok := parseURI(s)
	if !ok || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, false
	}
	return u, true
}
