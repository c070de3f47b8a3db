package httpapi

import (
	_ "embed"
	"net/http"
)

// openAPI documents /api/v1. A test keeps it in step with the route table.
//
//go:embed openapi.json
var openAPI []byte

func handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(openAPI)
}
