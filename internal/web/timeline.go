package web

import "github.com/parleyhq/parley"

// A group's page shows, among its messages, its timeline notes: who started
// it, added or removed whom, left it, renamed it. Each sits after the
// message that was the group's last when it happened, so a run of
// messages, a page or a part fetched by the script, carries the notes
// among them, and the script merges them as it merges messages: in seq
// order, a note's seq being its message's and a half.

// entry is one line of a message list: a message, a note, where the
// notes left out of it were (NotesLeftOut, before the first note shown),
// or where the messages new to the member begin.
type entry struct {
	Message *parley.Message
	Note    *parley.TimelineNote
	// NotesLeftOut is set on the line that says earlier notes are not
	// shown; it holds the first note shown.
	NotesLeftOut *parley.TimelineNote
	Unread       *unreadMark
}

// Entries returns the list's messages with its notes among them, each note
// after the message it follows, a line saying that earlier notes are not
// shown before the first when the list left some out, and its unread mark,
// if any, before the first message it marks.
func (l messageList) Entries() []entry {
	out := make([]entry, 0, len(l.Messages)+len(l.Notes)+2)
	i, mark := 0, l.Unread
	note := func() {
		if i == 0 && l.MoreNotes {
			out = append(out, entry{NotesLeftOut: &l.Notes[0]})
		}
		out = append(out, entry{Note: &l.Notes[i]})
	}
	for _, m := range l.Messages {
		for ; i < len(l.Notes) && l.Notes[i].AfterSeq < m.Seq; i++ {
			note()
		}
		if mark != nil && m.Seq > mark.After {
			out, mark = append(out, entry{Unread: mark}), nil
		}
		out = append(out, entry{Message: m})
	}
	for ; i < len(l.Notes); i++ {
		note()
	}
	return out
}

// noteView is a timeline note as a list shows it, to the page's member.
type noteView struct {
	N  *parley.TimelineNote
	Me parley.UserRef
}

func toNoteView(l messageList, n *parley.TimelineNote) noteView { return noteView{N: n, Me: l.Me} }

// Text says what the note tells, to the page's member: "Alice added you".
// Names and the title are set apart from the sentence (isolate), so that
// the note's time, after it, stays on its side of a name or title in
// Hebrew or Arabic.
func (v noteView) Text() string {
	n := v.N
	who := writerName(v.Me, n.By)
	if n.By.ID != v.Me.ID {
		who = isolate(who)
	}
	var whom string
	if n.Subject != nil {
		whom, _ = seenApart(v.Me, *n.Subject)
	}
	switch n.Kind {
	case parley.NoteStarted:
		if n.Title != "" {
			return who + " started the group “" + isolate(n.Title) + "”"
		}
		return who + " started the group"
	case parley.NoteAdded:
		return who + " added " + whom
	case parley.NoteLeft:
		return who + " left"
	case parley.NoteRemoved:
		return who + " removed " + whom
	case parley.NoteRenamed:
		if n.Title == "" {
			return who + " took the group's name away"
		}
		return who + " named the group “" + isolate(n.Title) + "”"
	}
	return ""
}
