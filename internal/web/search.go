package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parleyhq/parley"
	"github.com/rivo/uniseg"
)

// The search page (/search?q=): the messages of the member's conversations
// that hold a text (service.Service.SearchMessages), newest first, each
// with its conversation, who sent it and the words around what was found,
// leading to the message in its conversation. The inbox's field asks for
// it; the page has a field of its own, where a phone shows no inbox.

// searchPage is what the search page shows.
type searchPage struct {
	shell
	// Query is the text looked for, as the member typed it.
	Query string
	// Searched is set once there was a text to look for.
	Searched bool
	Results  []searchResult
	// Older leads to the page of older results, if there are any.
	Older string
	// Later says the page continues a search (a cursor), so that finding
	// nothing means nothing older.
	Later bool
	Error string
}

// searchResult is one message found.
type searchResult struct {
	Href   string
	Thread string
	Who    string
	At     time.Time
	// Found is where the text was found: the words before it, it, and the
	// words after it.
	Found snippet
}

// snippet is a text cut around what a search found in it.
type snippet struct{ Before, Match, After string }

// snippetBefore and snippetAfter are how many characters of a message a
// result shows before what was found, and after it.
const (
	snippetBefore = 40
	snippetAfter  = 160
)

func (p *Pages) handleSearch(w http.ResponseWriter, r *http.Request) {
	ctx, ok := p.messengerMember(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	sh, err := p.newShell(ctx, w, r, "Search", "")
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	sh.Section, sh.Searching = sectionChats, true
	page := searchPage{shell: sh, Query: q.Get("q"), Later: q.Get("cursor") != ""}
	if strings.TrimSpace(page.Query) == "" {
		p.render(w, http.StatusOK, "search", page)
		return
	}
	page.Title = "Search: " + oneLine(page.Query, 40)
	found, err := p.svc.SearchMessages(ctx, page.Query, q.Get("cursor"), 0)
	if parley.ErrorCode(err) == parley.EINVALID {
		// The words, or else the cursor of a page of results this page
		// did not give, or gave for other words.
		page.Error = "Type what to look for: up to " + strconv.Itoa(parley.MaxSearchLen) + " characters."
		if _, badWords := parley.SearchText(page.Query); badWords == nil {
			page.Error = "These results can no longer be paged through: search again."
		}
		p.render(w, http.StatusBadRequest, "search", page)
		return
	} else if err != nil {
		p.renderError(w, r, err)
		return
	}
	page.Searched = true
	names, err := p.threadNames(ctx, sh.Inbox, found.Messages)
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	text, _ := parley.SearchText(page.Query)
	for _, m := range found.Messages {
		page.Results = append(page.Results, searchResult{Href: messageURL(m.ThreadID, m.Seq), Thread: names[m.ThreadID], Who: writerName(sh.Me, m.Sender), At: m.CreatedAt,
			Found: foundIn(m, text)})
	}
	if found.NextCursor != "" {
		page.Older = "/search?" + url.Values{"q": {page.Query}, "cursor": {found.NextCursor}}.Encode()
	}
	p.render(w, http.StatusOK, "search", page)
}

// threadNames names the threads of the messages as the inbox does: by
// title, or by the people in them. The inbox's page holds most of them.
func (p *Pages) threadNames(ctx context.Context, inbox inboxList, found []*parley.Message) (map[string]string, error) {
	names := make(map[string]string, len(found))
	for _, t := range inbox.Items {
		names[t.ID] = t.Name
	}
	var untitled []string
	for _, m := range found {
		if _, ok := names[m.ThreadID]; ok {
			continue
		}
		th, err := p.svc.Thread(ctx, m.ThreadID)
		if err != nil {
			return nil, err
		}
		names[th.ID] = th.Title
		if th.Title == "" {
			untitled = append(untitled, th.ID)
		}
	}
	people, err := p.svc.ParticipantsOf(ctx, untitled)
	if err != nil {
		return nil, err
	}
	me := parley.CallerFromContext(ctx).User
	for _, id := range untitled {
		names[id] = othersNamed(people[id], me)
	}
	return names, nil
}

// foundIn returns where in the message a search found text, its case
// folded (parley.SearchText): in its text, else in its share card's title.
// Where neither holds it as Go folds them (the store may fold some letters
// otherwise), the text's start, or the card's title, without a match.
func foundIn(m *parley.Message, text string) snippet {
	said := []string{m.Text}
	if m.Share != nil {
		said = append(said, m.Share.Title)
	}
	for _, s := range said {
		if found, ok := cutAround(s, text); ok {
			return found
		}
	}
	if m.Text == "" && m.Share != nil {
		return snippet{Before: oneLine(m.Share.Title, snippetAfter)}
	}
	return snippet{Before: oneLine(m.Text, snippetAfter)}
}

// lastCharacters returns the last n characters of s as a reader sees
// them (grapheme clusters: a flag, an emoji with its skin tone, a letter
// with its accents, each one), or s whole when it has no more.
func lastCharacters(s string, n int) string {
	var starts []int
	state := -1
	for at, rest := 0, s; rest != ""; {
		var c string
		c, rest, _, state = uniseg.FirstGraphemeClusterInString(rest, state)
		starts = append(starts, at)
		at += len(c)
	}
	if len(starts) <= n {
		return s
	}
	return s[starts[len(starts)-n]:]
}

// cutAround finds folded, a text with its case folded (parley.FoldCase),
// in s whatever the case of either, and returns s cut around it: up to
// snippetBefore characters before it and snippetAfter after, on one line,
// with an ellipsis where s was cut.
func cutAround(s, folded string) (snippet, bool) {
	// start and end map each byte of s folded to the bytes of the
	// character of s it folds.
	var low strings.Builder
	var start, end []int
	for i, r := range s {
		l := parley.FoldCase(string(r))
		low.WriteString(l)
		for range len(l) {
			start = append(start, i)
			end = append(end, i+utf8.RuneLen(r))
		}
	}
	at := strings.Index(low.String(), folded)
	if at < 0 || folded == "" {
		return snippet{}, false
	}
	from, to := start[at], end[at+len(folded)-1]
	before := strings.Join(strings.Fields(s[:from]), " ")
	if uniseg.GraphemeClusterCount(before) > snippetBefore {
		before = "…" + strings.TrimLeft(lastCharacters(before, snippetBefore-1), " ")
	}
	if last, _ := utf8.DecodeLastRuneInString(s[:from]); before != "" && unicode.IsSpace(last) {
		before += " "
	}
	after := oneLine(s[to:], snippetAfter)
	if next, _ := utf8.DecodeRuneInString(s[to:]); after != "" && unicode.IsSpace(next) {
		after = " " + after
	}
	return snippet{Before: before, Match: strings.Join(strings.Fields(s[from:to]), " "), After: after}, true
}

// messageURL leads to a message of a thread: the page of the messages up
// to messagesAfter after it, scrolled to it.
func messageURL(threadID string, seq int64) string {
	return threadURL(threadID) + "?before=" + strconv.FormatInt(seq+1+messagesAfter, 10) + "#m" + strconv.FormatInt(seq, 10)
}

// messagesAfter is how many of the messages after one a link to it shows
// (messageURL): what was said next, above the link to the newest.
const messagesAfter = 10
