package httpapi

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
	"github.com/parleyhq/parley"
)

// maxBodyBytes bounds every request body. It holds the largest body the
// document allows however its JSON is spelled: a message's 16,000
// characters (a share's note's too) may each come as a \u escape, twelve
// bytes for a character beyond the BMP (a surrogate pair), as encoders
// that escape all but ASCII write them (Python's, by default): 192,000
// bytes of text.
const maxBodyBytes = 256 << 10

// decodeOptions are what decode asks of the JSON decoder beyond its
// defaults, which already refuse invalid UTF-8 and a member name given
// twice: unknown members are refused too, and names match exactly.
var decodeOptions = jsonv2.RejectUnknownMembers(true)

// errContentCoding refuses a body sent in a content coding, such as gzip:
// the API reads bodies as they come, and a compressed one would be refused
// as invalid JSON, not as what it is. writeError answers it with
// Accept-Encoding: identity.
var errContentCoding = &parley.Error{Code: codeUnsupportedMedia, Message: "send the body without a Content-Encoding: the API takes bodies uncompressed"}

// decode reads the request's JSON body into v. The body is refused, not
// repaired: invalid UTF-8, a field given twice, an unknown field, trailing
// data, a wrong type and a body over maxBodyBytes are errors a client can
// act on, and v is left for the caller to throw away.
func decode(r *http.Request, v any) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return &parley.Error{Code: codeUnsupportedMedia, Message: "send the body as application/json"}
	}
	for _, coding := range r.Header.Values("Content-Encoding") {
		for c := range strings.SplitSeq(coding, ",") {
			if c = strings.TrimSpace(c); c != "" && !strings.EqualFold(c, "identity") {
				return errContentCoding
			}
		}
	}
	buf := bodyBuffers.Get().(*bytes.Buffer)
	defer putBodyBuffer(buf)
	buf.Reset()
	_, err := buf.ReadFrom(r.Body)
	if e, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return parley.Errorf(parley.ETOOLARGE, "the body is over %d bytes", e.Limit)
	} else if err != nil {
		return parley.Errorf(parley.EINVALID, "the body could not be read to its end")
	}
	// Decoded values hold copies of their bytes: the buffer may be reused.
	body := buf.Bytes()
	dec := jsontext.NewDecoder(bytes.NewReader(body))
	if kind := dec.PeekKind(); kind != '{' && kind != 0 {
		return parley.Errorf(parley.EINVALID, "the body must be a JSON object")
	}
	if err := jsonv2.UnmarshalDecode(dec, v, decodeOptions); err != nil {
		return decodeError(err, body)
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return parley.Errorf(parley.EINVALID, "the body must hold one JSON object and nothing after it")
	}
	return nil
}

// decodeError says what is wrong with a body the decoder refused.
func decodeError(err error, body []byte) error {
	if errors.Is(err, io.EOF) {
		return parley.Errorf(parley.EINVALID, "the body is empty; send a JSON object")
	}
	if e, ok := errors.AsType[*jsontext.SyntacticError](err); ok {
		switch {
		case errors.Is(e.Err, jsontext.ErrDuplicateName):
			return parley.Errorf(parley.EINVALID, "field %q is given twice", fieldName(e.JSONPointer))
		case errors.Is(e.Err, io.ErrUnexpectedEOF):
			return parley.Errorf(parley.EINVALID, "the body ends before its JSON does")
		case !utf8.Valid(body):
			return parley.Errorf(parley.EINVALID, "the body is not valid UTF-8")
		}
		return parley.Errorf(parley.EINVALID, "the body is not valid JSON (at byte %d)", e.ByteOffset)
	}
	if e, ok := errors.AsType[*jsonv2.SemanticError](err); ok {
		switch {
		case errors.Is(e.Err, jsonv2.ErrUnknownName):
			return parley.Errorf(parley.EINVALID, "unknown field %q", fieldName(e.JSONPointer))
		case e.JSONPointer == "":
			return parley.Errorf(parley.EINVALID, "the body must be a JSON object")
		case e.GoType != nil && e.JSONKind == '0' && wholeNumber(e.GoType.Kind()):
			// A number, but not one the field's integer type holds.
			low, high := integerRange(e.GoType)
			return parley.Errorf(parley.EINVALID, "field %q must be a whole number from %s to %s", fieldName(e.JSONPointer), low, high)
		case e.GoType != nil:
			return parley.Errorf(parley.EINVALID, "field %q must be of type %s", fieldName(e.JSONPointer), jsonType(e.GoType.Kind()))
		}
	}
	return parley.Errorf(parley.EINVALID, "the body is not valid JSON")
}

// fieldName names the member a JSON pointer points at, as "text" or
// "participants/0".
func fieldName(p jsontext.Pointer) string {
	var parts []string
	for token := range p.Tokens() {
		parts = append(parts, token)
	}
	return strings.Join(parts, "/")
}

// wholeNumber reports whether k is an integer kind.
func wholeNumber(k reflect.Kind) bool {
	return reflect.Int <= k && k <= reflect.Uint64
}

// integerRange returns the least and greatest values of an integer type.
func integerRange(t reflect.Type) (low, high string) {
	if t.Kind() <= reflect.Int64 {
		return strconv.FormatInt(-1<<(t.Bits()-1), 10), strconv.FormatInt(1<<(t.Bits()-1)-1, 10)
	}
	return "0", strconv.FormatUint(1<<t.Bits()-1, 10)
}

func jsonType(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Bool:
		return "boolean"
	case reflect.Slice, reflect.Array:
		return "array"
	default:
		return "object"
	}
}

// encodeOptions make the encoder write what encoding/json writes, byte for
// byte (HTML characters escaped, nil slices as null, omitempty of zero
// values, a type's MarshalJSON): the encoder of go-json-experiment does it
// in two thirds of encoding/json's time, without allocating, where
// encoding/json encodes each time.Time by its MarshalJSON and then checks
// and copies what that returned.
var encodeOptions = jsonv1.DefaultOptionsV1()

// writeJSON answers with v as JSON, and a newline.
//
// The body is encoded into a pooled buffer and sent with its Content-Length:
// encoding straight into the ResponseWriter sends any body over net/http's
// 4 KiB buffer (a page of messages is about 16 KiB) chunked, in several
// writes, and the client has to undo the chunking.
func writeJSON(w http.ResponseWriter, status int, v any) {
	buf := bodyBuffers.Get().(*bytes.Buffer)
	defer putBodyBuffer(buf)
	buf.Reset()
	err := jsonv2.MarshalWrite(buf, v, encodeOptions)
	buf.WriteByte('\n')
	w.Header().Set("Content-Type", "application/json")
	if err == nil {
		w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	}
	w.WriteHeader(status)
	if err == nil {
		w.Write(buf.Bytes())
	}
}

// bodyBuffers holds buffers for reading request bodies and encoding
// response bodies.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBody is the largest buffer kept for reuse, so that one very large
// answer does not stay in memory for good. An inbox of 51 threads with 10
// messages each is about 190 KiB: a buffer grown for it anew, doubling from
// nothing, costs the answer about a fifth of its encoding. The pool holds a
// buffer or two for each processor in use, and lets go of those unused for
// two garbage collections.
const maxPooledBody = 512 << 10

func putBodyBuffer(buf *bytes.Buffer) {
	if buf.Cap() <= maxPooledBody {
		bodyBuffers.Put(buf)
	}
}
