package httpapi_test

import (
	"testing"

	"github.com/parleyhq/parley/internal/apptest"
)

// Every example the OpenAPI document gives holds to the schema beside it:
// a partner who copies one sends what the API takes, and expects what it
// answers.
func TestOpenAPI_ExamplesHoldToTheirSchemas(t *testing.T) {
	checked, problems := apptest.CheckOpenAPIExamples()
	for _, err := range problems {
		t.Error(err)
	}
	if checked == 0 {
		t.Error("found no example in the document, which gives some")
	}
}
