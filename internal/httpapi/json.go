package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

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
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
