package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix begins every signing secret, as Standard Webhooks has it.
const SecretPrefix = "whsec_"

// secretBytes is the size of a signing secret's random part: 32 bytes,
// above the specification's minimum of 24.
const secretBytes = 32

// NewSecret returns a new signing secret: its text, shown to the app's
// owner once, and its bytes, which sign.
func NewSecret() (text string, key []byte) {
	key = make([]byte, secretBytes)
	rand.Read(key)
	return SecretPrefix + base64.StdEncoding.EncodeToString(key), key
}

// Signature returns the webhook-signature header of a delivery: for each
// key, "v1," and the base64 of HMAC-SHA256 over id.timestamp.body, joined
// by spaces, so that a receiver holding any one of the keys can verify.
func Signature(keys [][]byte, id string, at time.Time, body []byte) string {
	ts := strconv.FormatInt(at.Unix(), 10)
	sigs := make([]string, len(keys))
	for i, key := range keys {
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id))
		mac.Write([]byte{'.'})
		mac.Write([]byte(ts))
		mac.Write([]byte{'.'})
		mac.Write(body)
		sigs[i] = "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	}
	return strings.Join(sigs, " ")
}
