package web

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/parleyhq/parley"
	"github.com/rivo/uniseg"
)

// A reply shows the message it answers above its text, as a link to it:
// who wrote it and how it begins. The page reads the messages its replies
// answer that it does not show itself (addQuotes); the script does not
// build them, as it builds no HTML from data.

// quoteView is a message as a reply, or the field writing one, shows it.
type quoteView struct {
	Seq int64
	// Who wrote it: "You", or their name.
	Who string
	// Text is how it begins, on one line: empty when it was deleted
	// (Gone), or is not known.
	Text string
	Gone bool
	// Href leads to it: the page of the messages up to it, which the
	// script only scrolls to when it shows it already.
	Href string
}

// quoteMaxRunes is how much of a message a quote shows; the stylesheet
// cuts it to its one line.
const quoteMaxRunes = 140

// quoteOf returns the quote of the message numbered seq of the thread,
// written as me sees it; m is nil when it is not known.
func quoteOf(threadID string, seq int64, m *parley.Message, me parley.UserRef) *quoteView {
	q := &quoteView{Seq: seq, Href: messageURL(threadID, seq)}
	if m == nil {
		return q
	}
	q.Who = writerName(me, m.Sender)
	switch {
	case m.DeletedAt != nil:
		q.Gone = true
	case m.Share != nil && m.Text == "":
		q.Text = m.Share.Title
	default:
		q.Text = oneLine(m.Text, quoteMaxRunes)
	}
	return q
}

// oneLine returns the start of text, its white space runs made single
// spaces, at most limit characters, with an ellipsis where it was cut.
// A character is one as a reader sees it (a grapheme cluster): a cut
// never parts a flag, an emoji from its skin tone, or a letter from its
// accents.
func oneLine(text string, limit int) string {
	s := strings.Join(strings.Fields(text), " ")
	if uniseg.GraphemeClusterCount(s) <= limit {
		return s
	}
	cut, rest, state := 0, s, -1
	for range limit - 1 {
		var c string
		c, rest, _, state = uniseg.FirstGraphemeClusterInString(rest, state)
		cut += len(c)
	}
	return s[:cut] + "…"
}

// addQuotes reads into l, in one read, the messages its replies answer
// that it does not hold.
func (p *Pages) addQuotes(ctx context.Context, l *messageList) error {
	shown := make(map[int64]bool, len(l.Messages))
	for _, m := range l.Messages {
		shown[m.Seq] = true
	}
	var missing []int64
	for _, m := range l.Messages {
		if seq := m.ReplyToSeq; seq != 0 && !shown[seq] && !slices.Contains(missing, seq) {
			missing = append(missing, seq)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	answered, err := p.svc.MessagesAt(ctx, l.ThreadID, missing)
	l.Quoted = make(map[int64]*parley.Message, len(answered))
	for _, m := range answered {
		l.Quoted[m.Seq] = m
	}
	return err
}

// quote returns the quote of the message numbered seq that a message of
// the list answers.
func (l messageList) quote(seq int64) *quoteView {
	m := l.Quoted[seq]
	for _, shown := range l.Messages {
		if shown.Seq == seq {
			m = shown
			break
		}
	}
	return quoteOf(l.ThreadID, seq, m, l.Me)
}

// replyingTo returns the quote of the message the page's ?reply= names,
// for the field to answer it, or nil when it names none of the thread's.
func (p *Pages) replyingTo(ctx context.Context, r *http.Request, l messageList) (*quoteView, error) {
	seq, ok := seqParam(r, "reply")
	if !ok || seq < 1 {
		return nil, nil
	}
	found, err := p.svc.MessagesAt(ctx, l.ThreadID, []int64{seq})
	if err != nil || len(found) == 0 || found[0].DeletedAt != nil {
		return nil, err
	}
	return quoteOf(l.ThreadID, seq, found[0], l.Me), nil
}

// formSeq returns a form's field holding a message's seq: 0 when it is
// empty, and -1, which the service refuses, when it is not a number.
func formSeq(r *http.Request, name string) int64 {
	v := r.PostFormValue(name)
	if v == "" {
		return 0
	}
	seq, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return -1
	}
	return seq
}
