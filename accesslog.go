package parley

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"time"
)

// Access log actions beyond the scopes: an app editing what it wrote, what
// happened to a grant itself, and a participant closing a thread to apps
// or opening it again.
const (
	// ActionMessageEdited: an app changed the text of a message it had
	// written for the member, through messages.write: an entry of its
	// own, as a send and an edit of one message are two accesses.
	ActionMessageEdited = "message.edited"

	ActionGrantCreated = "grant.created"
	ActionGrantWidened = "grant.widened"
	ActionGrantExpired = "grant.expired"
	ActionGrantRevoked = "grant.revoked"
	// ActionGrantRevokedByOperator: an operator's decision ended the
	// grant (the app deleted, its reach of all threads withdrawn, the
	// member's account disabled or deleted), not the member.
	ActionGrantRevokedByOperator = "grant.revoked_by_operator"
	// ActionGrantRevokedByDeveloper: the member who registered the app
	// deleted it, which ended the grant.
	ActionGrantRevokedByDeveloper = "grant.revoked_by_developer"
	// ActionGrantNarrowed: the member took scopes or threads out of a grant.
	ActionGrantNarrowed = "grant.narrowed"

	ActionThreadClosed   = "thread.closed_to_apps"
	ActionThreadReopened = "thread.reopened_to_apps"
)

// MaxLoggedMessageIDs is how many message IDs an entry lists. A larger read,
// such as a page of history, is logged by its count and the span of the
// thread it covered (FirstSeq to LastSeq): its IDs would make every app's
// page of 50 cost a third more to log than to read.
const MaxLoggedMessageIDs = 10

// AccessEntry is one entry of a member's access log: an app touched the
// member's data, the member's consent changed, or a participant closed or
// reopened a thread to apps. Entries are hash-chained
// per member: Hash = SHA-256(PrevHash ‖ Canonical()), so an entry edited or
// removed later breaks the chain from there on.
type AccessEntry struct {
	UserID   string    `json:"-"`
	Seq      int64     `json:"seq"`
	At       time.Time `json:"at"`
	ClientID string    `json:"client_id"`
	AppName  string    `json:"app_name"`
	GrantID  string    `json:"grant_id"`
	// Action is a scope name for an access, or one of the other actions.
	Action   string `json:"action"`
	ThreadID string `json:"thread_id,omitempty"`
	// ByUserID is the participant who closed or reopened a thread to apps;
	// those entries name no app.
	ByUserID   string   `json:"by_user_id,omitempty"`
	MessageIDs []string `json:"message_ids,omitempty"`
	// MessageCount is how many messages the access touched.
	MessageCount int `json:"message_count"`
	// FirstSeq and LastSeq are the positions in the thread of the first
	// and last message the access touched; 0 when it touched none.
	FirstSeq int64 `json:"first_seq,omitempty"`
	LastSeq  int64 `json:"last_seq,omitempty"`
	// Grant is what the member agreed to, on an entry that made or
	// changed a grant (ActionGrantCreated, ActionGrantWidened,
	// ActionGrantNarrowed); nil on every other entry.
	Grant    *GrantTerms `json:"grant,omitempty"`
	PrevHash []byte      `json:"prev_hash"`
	Hash     []byte      `json:"hash"`
}

// GrantTerms are what a grant held once a change to it was made, as its
// entry in the access log keeps them: the log shows what the member
// agreed to, not only that they agreed, and a later change of the grant
// cannot rewrite it.
type GrantTerms struct {
	Scopes      Scopes `json:"scopes"`
	ThreadScope string `json:"thread_scope"`
	// ExpiresAt is when the grant runs out; nil, never.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// ThreadIDs are the threads the change was about: those the member
	// ticked for a new grant of thread scope selected, those a narrowing
	// took out. A grant's other threads come and go by what the app does
	// in them (an app's thread is one it started), which has entries of
	// its own.
	ThreadIDs []string `json:"thread_ids,omitempty"`
}

// Canonical returns the entry's fields, all but the hashes, in a fixed
// order, each as a length-prefixed byte string: one encoding per entry, and
// no two entries with the same encoding.
func (e *AccessEntry) Canonical() []byte {
	var b bytes.Buffer
	field := func(s string) { writeField(&b, s) }
	num := func(n int64) { b.Write(binary.AppendVarint(nil, n)) }
	field(e.UserID)
	num(e.Seq)
	num(e.At.UnixMicro())
	field(e.ClientID)
	field(e.AppName)
	field(e.GrantID)
	field(e.Action)
	field(e.ThreadID)
	field(e.ByUserID)
	num(int64(len(e.MessageIDs)))
	for _, id := range e.MessageIDs {
		field(id)
	}
	num(int64(e.MessageCount))
	// Entries logged before the span, or a grant's terms, were recorded
	// have none, and their encoding stays what it was: each is a tail
	// that only an entry holding it has, and an entry with terms has the
	// span before them, 0 to 0 if need be, so that the encoding still
	// reads back one way.
	if e.FirstSeq == 0 && e.LastSeq == 0 && e.Grant == nil {
		return b.Bytes()
	}
	num(e.FirstSeq)
	num(e.LastSeq)
	if g := e.Grant; g != nil {
		field(g.Scopes.String())
		field(g.ThreadScope)
		var expires int64
		if g.ExpiresAt != nil {
			expires = g.ExpiresAt.UnixMicro()
		}
		num(expires)
		num(int64(len(g.ThreadIDs)))
		for _, id := range g.ThreadIDs {
			field(id)
		}
	}
	return b.Bytes()
}

// writeField writes s to b as a length-prefixed byte string.
func writeField(b *bytes.Buffer, s string) {
	b.Write(binary.AppendUvarint(nil, uint64(len(s))))
	b.WriteString(s)
}

// ChainHash returns the hash the entry must carry after prev.
func (e *AccessEntry) ChainHash(prev []byte) []byte {
	h := sha256.New()
	h.Write(prev)
	h.Write(e.Canonical())
	return h.Sum(nil)
}

// GenesisHash is the previous hash of a member's first entry.
var GenesisHash = make([]byte, sha256.Size)

// AccessRecord is one access to append to the logs of several members:
// Entry, its UserID, Seq and hashes left for chaining, goes onto the log of
// each member in UserIDs.
type AccessRecord struct {
	Entry   AccessEntry
	UserIDs []string
	// Key, if set, names the access, so that it is logged once however
	// many processes or nodes log it: the store keeps the Key of a record
	// it appended for at least AccessKeyKept after the record's time
	// (Entry.At), and drops a record whose Key it keeps from a record less
	// than AccessKeyKept before it. An app's streams on several nodes that
	// deliver one event log it so.
	Key []byte
}

// KeyAt returns a Key for the record as made at the occasion named, such
// as the delivery of an event by its ID: the same for every record of that
// occasion alike in all but its time (Entry.At) and the order of its
// members, and for no other.
func (r AccessRecord) KeyAt(occasion string) []byte {
	e := r.Entry
	e.At = time.Time{}
	var b bytes.Buffer
	writeField(&b, occasion)
	b.Write(e.Canonical())
	for _, id := range slices.Sorted(slices.Values(r.UserIDs)) {
		writeField(&b, id)
	}
	sum := sha256.Sum256(b.Bytes())
	return sum[:]
}

// AccessKeyKept is how long at least the store keeps the Key of a record
// it appended, by the times of the records that come after it: the nodes'
// clocks must agree far better than that.
const AccessKeyKept = 10 * time.Minute

// Chain returns the entries that append records, in order, to the members'
// logs, whose last entries are heads. heads must hold every member the
// records name; Chain moves each on to its member's new last entry.
func Chain(heads map[string]AccessHead, records []AccessRecord) []*AccessEntry {
	var entries []*AccessEntry
	for _, r := range records {
		for _, uid := range r.UserIDs {
			h := heads[uid]
			e := r.Entry
			e.UserID, e.Seq, e.PrevHash = uid, h.Seq+1, h.Hash
			e.Hash = e.ChainHash(h.Hash)
			heads[uid] = AccessHead{UserID: uid, Seq: e.Seq, Hash: e.Hash}
			entries = append(entries, &e)
		}
	}
	return entries
}

// AccessHead is the position and hash of a member's last access log entry,
// kept apart from the entries so that cutting entries off the end shows.
type AccessHead struct {
	UserID string
	Seq    int64
	Hash   []byte
}

// AccessFilter selects a page of one member's access log.
type AccessFilter struct {
	UserID string
	// ClientID, when set, keeps one app's entries.
	ClientID string
	// Ascending reads oldest first from seq From (exclusive); otherwise
	// newest first below From.
	Ascending bool
	From      int64
	// Through, when above 0, ends an ascending read at seq Through
	// (inclusive): a range of the log that costs what it holds, however
	// the database guesses the size of the rest.
	Through int64
	Limit   int
}

// ChainBreak names the first entry where a member's chain fails to verify.
type ChainBreak struct {
	Seq    int64  `json:"seq"`
	Reason string `json:"reason"`
}

// Why a chain fails to verify.
const (
	breakMissing     = "entry missing"
	breakMissingEnd  = "entries missing at the end of the log"
	breakBeyondEnd   = "entry beyond the end of the log"
	breakBeforeStart = "entry before the start of the log"
	breakLink        = "previous hash does not match the entry before"
	breakAltered     = "entry altered: its hash does not match its contents"
)

// BeyondTheEnd is the break of an entry found past the end of its log,
// which no append put there.
func BeyondTheEnd(seq int64) *ChainBreak { return &ChainBreak{Seq: seq, Reason: breakBeyondEnd} }

// BeforeTheStart is the break of an entry found at a seq below 1, where no
// append puts one.
func BeforeTheStart(seq int64) *ChainBreak { return &ChainBreak{Seq: seq, Reason: breakBeforeStart} }

// ChainCheck checks a member's log against its head as the log is read,
// an entry at a time, keeping only where the next entry must join the
// chain: its time is linear in the log's length and its memory constant,
// however long the log. Oldest first (NewChainCheck), it names the
// break nearest the start of the log; newest first, as the log is paged
// (NewChainCheckNewestFirst), the break nearest its end. Either way it
// holds the log to the same links, so an intact log passes both.
type ChainCheck struct {
	head        AccessHead
	newestFirst bool
	// seq is the seq the next entry must have.
	seq int64
	// link is, oldest first, the hash the next entry must chain from;
	// newest first, the hash it must have.
	link []byte
	brk  *ChainBreak
}

// NewChainCheck checks a log oldest first, from the genesis hash up to
// head.
func NewChainCheck(head AccessHead) *ChainCheck {
	return &ChainCheck{head: head, seq: 1, link: GenesisHash}
}

// NewChainCheckFrom checks a log oldest first from the entry at, taken as
// checked already, up to head.
func NewChainCheckFrom(head, at AccessHead) *ChainCheck {
	return &ChainCheck{head: head, seq: at.Seq + 1, link: at.Hash}
}

// NewChainCheckNewestFirst checks a log newest first, from head down to
// the genesis hash.
func NewChainCheckNewestFirst(head AccessHead) *ChainCheck {
	return &ChainCheck{head: head, newestFirst: true, seq: head.Seq, link: head.Hash}
}

// Add checks e, the entry after those added so far in the check's order.
// After the first break it checks nothing more.
func (c *ChainCheck) Add(e *AccessEntry) {
	switch {
	case c.brk != nil:
	case c.newestFirst:
		c.brk = c.addNewestFirst(e)
	default:
		c.brk = c.addOldestFirst(e)
	}
}

func (c *ChainCheck) addOldestFirst(e *AccessEntry) *ChainBreak {
	switch {
	case c.seq > c.head.Seq:
		return BeyondTheEnd(e.Seq)
	case e.Seq != c.seq:
		return &ChainBreak{Seq: c.seq, Reason: breakMissing}
	case !bytes.Equal(e.PrevHash, c.link):
		return &ChainBreak{Seq: e.Seq, Reason: breakLink}
	case !bytes.Equal(e.Hash, e.ChainHash(c.link)):
		return &ChainBreak{Seq: e.Seq, Reason: breakAltered}
	}
	c.seq, c.link = c.seq+1, e.Hash
	return nil
}

func (c *ChainCheck) addNewestFirst(e *AccessEntry) *ChainBreak {
	atHead := c.seq == c.head.Seq
	switch {
	case atHead && e.Seq > c.seq:
		return BeyondTheEnd(e.Seq)
	case atHead && e.Seq < c.seq:
		return &ChainBreak{Seq: e.Seq + 1, Reason: breakMissingEnd}
	case e.Seq != c.seq:
		return &ChainBreak{Seq: c.seq, Reason: breakMissing}
	case !bytes.Equal(e.Hash, e.ChainHash(e.PrevHash)):
		return &ChainBreak{Seq: e.Seq, Reason: breakAltered}
	case atHead && !bytes.Equal(e.Hash, c.link):
		return &ChainBreak{Seq: e.Seq + 1, Reason: breakMissingEnd}
	case !bytes.Equal(e.Hash, c.link):
		return &ChainBreak{Seq: e.Seq + 1, Reason: breakLink}
	}
	c.seq, c.link = c.seq-1, e.PrevHash
	return nil
}

// End returns the first break, in the check's order, of the entries added
// and the head; nil when all of it holds, nothing missing at either end.
func (c *ChainCheck) End() *ChainBreak {
	switch {
	case c.brk != nil:
		return c.brk
	case c.newestFirst && c.seq == c.head.Seq && c.seq > 0:
		return &ChainBreak{Seq: 1, Reason: breakMissingEnd}
	case c.newestFirst && c.seq > 0:
		return &ChainBreak{Seq: c.seq, Reason: breakMissing}
	case c.newestFirst && !bytes.Equal(c.link, GenesisHash):
		return &ChainBreak{Seq: 1, Reason: breakLink}
	case !c.newestFirst && (c.seq-1 != c.head.Seq || !bytes.Equal(c.link, c.head.Hash)):
		return &ChainBreak{Seq: c.seq, Reason: breakMissingEnd}
	}
	return nil
}
