package httpapi_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/httpapi"
)

// The Go client's types carry every field of the objects the API
// documents, and no other, so what the server sends survives a round trip
// through them.
func TestClientTypes_MatchTheDocumentedSchemas(t *testing.T) {
	t.Parallel()
	var doc struct {
		Components struct {
			Schemas map[string]openAPISchema `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(httpapi.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	for schema, v := range map[string]any{
		"Problem":                client.Error{},
		"User":                   client.User{},
		"UserRef":                client.UserRef{},
		"Session":                client.Session{},
		"Friend":                 client.Friend{},
		"FriendRequests":         client.FriendRequests{},
		"FriendRequestPage":      client.FriendRequestPage{},
		"FriendPage":             client.FriendPage{},
		"BlockPage":              client.BlockPage{},
		"FriendStatus":           client.FriendStatus{},
		"Thread":                 client.Thread{},
		"ThreadSummary":          client.ThreadSummary{},
		"ThreadPage":             client.ThreadPage{},
		"ThreadChange":           client.ThreadChange{},
		"Message":                client.Message{},
		"Flag":                   client.Flag{},
		"Via":                    client.Via{},
		"Share":                  client.Share{},
		"MessagePage":            client.MessagePage{},
		"SearchPage":             client.SearchPage{},
		"TimelineNote":           client.TimelineNote{},
		"MessageChange":          client.MessageChange{},
		"ChangePage":             client.ChangePage{},
		"ShareReport":            client.ShareReport{},
		"SharePeriod":            client.SharePeriod{},
		"CreatedWebhookEndpoint": client.WebhookEndpoint{},
		"WebhookAttempt":         client.WebhookAttempt{},
		"WebhookDelivery":        client.WebhookDelivery{},
		"WebhookDeliveryPage":    client.WebhookDeliveryPage{},
		"Event":                  client.Event{},
		"MessageDeleted":         client.MessageDeleted{},
		"ReadUpdated":            client.ReadUpdated{},
		"UserUpdated":            client.UserUpdated{},
		"EventTicket":            client.EventTicket{},
		"ConnectedApp":           client.ConnectedApp{},
		"GrantedThread":          client.GrantedThread{},
		"ThreadGrant":            client.ThreadGrant{},
		"ThreadAppAccess":        client.ThreadAppAccess{},
		"AccountExport":          client.Export{},
		"ExportedThread":         client.ExportedThread{},
		"ExportedLeftThread":     client.ExportedLeftThread{},
		"ExportedDecision":       client.ExportedDecision{},
		"ExportedParticipant":    client.ExportedParticipant{},
		"ExportedGrant":          client.ExportedGrant{},
		"ExportedApp":            client.ExportedApp{},
		"ExportedSession":        client.ExportedSession{},
		"ExportedShareLink":      client.ExportedShareLink{},
		"App":                    client.App{},
		"AccessEntry":            client.AccessEntry{},
		"AccessLogPage":          client.AccessLogPage{},
		"AccessLogVerification":  client.AccessLogVerification{},
		"ChainBreak":             client.ChainBreak{},
		"NewApp":                 client.NewApp{},
		"RegisteredApp":          client.RegisteredApp{},
		"GrantNarrowing":         client.GrantNarrowing{},
	} {
		s, ok := doc.Components.Schemas[schema]
		if !ok {
			t.Errorf("openapi.json has no schema %s", schema)
			continue
		}
		want := s.propertyNames(doc.Components.Schemas)
		got := jsonNames(reflect.TypeOf(v))
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%T has the fields %v; the schema %s has %v", v, got, schema, want)
		}
	}
}

// openAPISchema is the part of a schema that names an object's properties.
type openAPISchema struct {
	Ref        string                     `json:"$ref"`
	Properties map[string]json.RawMessage `json:"properties"`
	AllOf      []openAPISchema            `json:"allOf"`
}

// propertyNames returns the properties of s, with those of the schemas it
// refers to or is made of (allOf).
func (s openAPISchema) propertyNames(schemas map[string]openAPISchema) []string {
	var out []string
	if name, ok := strings.CutPrefix(s.Ref, "#/components/schemas/"); ok {
		out = append(out, schemas[name].propertyNames(schemas)...)
	}
	for name := range s.Properties {
		out = append(out, name)
	}
	for _, part := range s.AllOf {
		out = append(out, part.propertyNames(schemas)...)
	}
	return out
}

// jsonNames returns the names encoding/json gives the fields of struct
// type t, those of embedded structs included.
func jsonNames(t reflect.Type) []string {
	var out []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-" || !f.IsExported():
		case f.Anonymous && name == "":
			out = append(out, jsonNames(f.Type)...)
		case name == "":
			out = append(out, f.Name)
		default:
			out = append(out, name)
		}
	}
	return out
}
