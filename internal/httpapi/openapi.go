package httpapi

import (
	_ "embed"
	"net/http"
)

// openAPI documents /api/v1. A test keeps it in step with the route table.
//
//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the document of /api/v1, as GET /api/v1/openapi.json
// serves it.
func OpenAPI() []byte { return openAPI }

func handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(openAPI)
}
