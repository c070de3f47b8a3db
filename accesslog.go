package parley

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// Access log actions beyond the scopes: what happened to a grant itself,
// and a participant closing a thread to apps or opening it again.
const (
	ActionGrantCreated = "grant.created"
	ActionGrantWidened = "grant.widened"
	ActionGrantExpired = "grant.expired"
	ActionGrantRevoked = "grant.revoked"
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
	FirstSeq int64  `json:"first_seq,omitempty"`
	LastSeq  int64  `json:"last_seq,omitempty"`
	PrevHash []byte `json:"prev_hash"`
	Hash     []byte `json:"hash"`
}

// Canonical returns the entry's fields, all but the hashes, in a fixed
// order, each as a length-prefixed byte string: one encoding per entry, and
// no two entries with the same encoding.
func (e *AccessEntry) Canonical() []byte {
	var b bytes.Buffer
	field := func(s string) {
		b.Write(binary.AppendUvarint(nil, uint64(len(s))))
		b.WriteString(s)
	}
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
	// Entries logged before the span was recorded have none, and their
	// encoding stays what it was.
	if e.FirstSeq != 0 || e.LastSeq != 0 {
		num(e.FirstSeq)
		num(e.LastSeq)
	}
	return b.Bytes()
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
}

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
	Limit     int
}

// ChainBreak names the first entry where a member's chain fails to verify.
type ChainBreak struct {
	Seq    int64  `json:"seq"`
	Reason string `json:"reason"`
}

// VerifyChain checks a member's whole log, in ascending seq order, against
// the chain's head (headSeq, headHash): every link, and that nothing is
// missing at either end. It returns nil when all of it holds.
func VerifyChain(entries []*AccessEntry, headSeq int64, headHash []byte) *ChainBreak {
	prev, want := GenesisHash, int64(1)
	for _, e := range entries {
		switch {
		case e.Seq != want:
			return &ChainBreak{Seq: want, Reason: "entry missing"}
		case !bytes.Equal(e.PrevHash, prev):
			return &ChainBreak{Seq: e.Seq, Reason: "previous hash does not match the entry before"}
		case !bytes.Equal(e.Hash, e.ChainHash(prev)):
			return &ChainBreak{Seq: e.Seq, Reason: "entry altered: its hash does not match its contents"}
		}
		prev, want = e.Hash, want+1
	}
	if want-1 != headSeq || !bytes.Equal(prev, headHash) {
		return &ChainBreak{Seq: want, Reason: "entries missing at the end of the log"}
	}
	return nil
}
