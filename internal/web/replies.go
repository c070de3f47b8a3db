package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/service"
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
	q := &quoteView{Seq: seq, Href: threadURL(threadID) + "?before=" + strconv.FormatInt(seq+1, 10) + "#m" + strconv.FormatInt(seq, 10)}
	if m == nil {
		return q
	}
	q.Who = displayName(m.Sender)
	if m.Sender.ID == me.ID {
		q.Who = "You"
	}
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
// spaces, at most max characters, with an ellipsis where it was cut.
func oneLine(text string, max int) string {
	s := strings.Join(strings.Fields(text), " ")
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	return string([]rune(s)[:max-1]) + "…"
}

// addQuotes reads into l the messages its replies answer that it does not
// hold, one read each: most replies answer a message shown with them.
func (p *Pages) addQuotes(ctx context.Context, l *messageList) error {
	shown := make(map[int64]bool, len(l.Messages))
	for _, m := range l.Messages {
		shown[m.Seq] = true
	}
	for _, m := range l.Messages {
		seq := m.ReplyToSeq
		if seq == 0 || shown[seq] || l.Quoted[seq] != nil {
			continue
		}
		answered, err := p.message(ctx, l.ThreadID, seq)
		if err != nil {
			return err
		}
		if l.Quoted == nil {
			l.Quoted = make(map[int64]*parley.Message)
		}
		l.Quoted[seq] = answered
	}
	return nil
}

// message returns the thread's message numbered seq, or nil when the
// member has none so numbered.
func (p *Pages) message(ctx context.Context, threadID string, seq int64) (*parley.Message, error) {
	after := seq - 1
	page, err := p.svc.Messages(ctx, threadID, service.MessageQuery{After: &after, Limit: 1})
	if err != nil || len(page.Messages) == 0 || page.Messages[0].Seq != seq {
		return nil, err
	}
	return page.Messages[0], nil
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
	m, err := p.message(ctx, l.ThreadID, seq)
	if err != nil || m == nil || m.DeletedAt != nil {
		return nil, err
	}
	return quoteOf(l.ThreadID, seq, m, l.Me), nil
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
