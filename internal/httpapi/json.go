package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"sync"

	"github.com/parleyhq/parley"
)

// maxBodyBytes bounds every request body.
const maxBodyBytes = 64 << 10

// decode reads the request's JSON body into v. Unknown fields, trailing data,
// wrong types and bodies over maxBodyBytes are errors a client can act on.
func decode(r *http.Request, v any) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return &parley.Error{Code: codeUnsupportedMedia, Message: "send the body as application/json"}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if maxErr, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return decodeError(maxErr)
		}
		return parley.Errorf(parley.EINVALID, "the body must hold one JSON object and nothing after it")
	}
	return nil
}

func decodeError(err error) error {
	if e, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return parley.Errorf(parley.ETOOLARGE, "the body is over %d bytes", e.Limit)
	}
	if e, ok := errors.AsType[*json.SyntaxError](err); ok {
		return parley.Errorf(parley.EINVALID, "the body is not valid JSON (at byte %d)", e.Offset)
	}
	if e, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		if e.Field == "" {
			return parley.Errorf(parley.EINVALID, "the body must be a JSON object")
		}
		return parley.Errorf(parley.EINVALID, "field %q must be of type %s", e.Field, jsonType(e.Type.Kind().String()))
	}
	if errors.Is(err, io.EOF) {
		return parley.Errorf(parley.EINVALID, "the body is empty; send a JSON object")
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return parley.Errorf(parley.EINVALID, "the body ends before its JSON does")
	}
	// encoding/json reports unknown fields only as text.
	var field string
	if _, scanErr := fmt.Sscanf(err.Error(), "json: unknown field %q", &field); scanErr == nil {
		return parley.Errorf(parley.EINVALID, "unknown field %q", field)
	}
	return parley.Errorf(parley.EINVALID, "the body is not valid JSON")
}

func jsonType(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "number"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	default:
		return "object"
	}
}

// writeJSON answers with v as JSON.
//
// The body is encoded into a pooled buffer and sent with its Content-Length:
// encoding straight into the ResponseWriter sends any body over net/http's
// 4 KiB buffer (a page of messages is about 16 KiB) chunked, in several
// writes, and the client has to undo the chunking.
func writeJSON(w http.ResponseWriter, status int, v any) {
	buf := bodyBuffers.Get().(*bytes.Buffer)
	defer putBodyBuffer(buf)
	buf.Reset()
	err := json.NewEncoder(buf).Encode(v)
	w.Header().Set("Content-Type", "application/json")
	if err == nil {
		w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	}
	w.WriteHeader(status)
	if err == nil {
		w.Write(buf.Bytes())
	}
}

// bodyBuffers holds buffers for encoding response bodies.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBody is the largest buffer kept for reuse, so that one very large
// answer does not stay in memory for good.
const maxPooledBody = 64 << 10

func putBodyBuffer(buf *bytes.Buffer) {
	if buf.Cap() <= maxPooledBody {
		bodyBuffers.Put(buf)
	}
}
