package httpapi

import "net/http"

// route is one entry of the API's route table. The OpenAPI document is
// checked against this table by a test.
type route struct {
	method  string
	pattern string
	handler http.HandlerFunc
	// public routes need no bearer token.
	public bool
	// reports routes also take an app's own token, from the
	// client-credentials grant, which no other route takes.
	reports bool
	// websocket routes answer only a WebSocket handshake, checked before
	// anything else, and take a single-use ticket as ?ticket= in place of
	// the bearer token, for browsers, which cannot set headers on one.
	websocket bool
	// sameOrigin routes answer no page of another origin (CORS): they
	// take a password, whose throttles count per client address, and a
	// page of any site could otherwise have its visitors' browsers guess
	// passwords or make accounts from their addresses, and read the
	// answers. Every other route answers any origin (CrossOrigin).
	sameOrigin bool
}

// eventsPath is the realtime stream's route.
const eventsPath = "/api/v1/events"

// routes is the /api/v1 route table.
func (s *Server) routes() []route {
	return []route{
		{method: "GET", pattern: "/api/v1/openapi.json", handler: handleOpenAPI, public: true},

		{method: "POST", pattern: "/api/v1/accounts", handler: s.handleAccountCreate, public: true, sameOrigin: true},
		{method: "POST", pattern: "/api/v1/sessions", handler: s.handleSessionCreate, public: true, sameOrigin: true},
		{method: "DELETE", pattern: "/api/v1/sessions/current", handler: s.handleSessionDelete},
		{method: "DELETE", pattern: "/api/v1/sessions/others", handler: s.handleOtherSessionsDelete},
		{method: "GET", pattern: "/api/v1/me", handler: s.handleMe},
		{method: "PATCH", pattern: "/api/v1/me", handler: s.handleMeUpdate},
		{method: "DELETE", pattern: "/api/v1/me", handler: s.handleAccountDelete},
		{method: "PUT", pattern: "/api/v1/me/password", handler: s.handlePasswordChange},
		{method: "GET", pattern: "/api/v1/me/export", handler: s.handleExport},
		{method: "GET", pattern: "/api/v1/me/access-log", handler: s.handleAccessLog},
		{method: "GET", pattern: "/api/v1/me/access-log/verify", handler: s.handleAccessLogVerify},
		{method: "GET", pattern: "/api/v1/me/grants", handler: s.handleGrantList},
		{method: "PATCH", pattern: "/api/v1/me/grants/{id}", handler: s.handleGrantNarrow},
		{method: "DELETE", pattern: "/api/v1/me/grants/{id}", handler: s.handleGrantRevoke},

		{method: "POST", pattern: "/api/v1/friends", handler: s.handleFriendAdd},
		{method: "GET", pattern: "/api/v1/friends", handler: s.handleFriendList},
		{method: "GET", pattern: "/api/v1/friend-requests", handler: s.handleFriendRequests},
		{method: "DELETE", pattern: "/api/v1/friends/{user_id}", handler: s.handleFriendDelete},
		{method: "POST", pattern: "/api/v1/blocks", handler: s.handleBlockCreate},
		{method: "GET", pattern: "/api/v1/blocks", handler: s.handleBlockList},
		{method: "DELETE", pattern: "/api/v1/blocks/{user_id}", handler: s.handleBlockDelete},

		{method: "POST", pattern: "/api/v1/threads", handler: s.handleThreadCreate},
		{method: "GET", pattern: "/api/v1/threads", handler: s.handleThreadList},
		{method: "GET", pattern: "/api/v1/threads/{id}", handler: s.handleThreadGet},
		{method: "PATCH", pattern: "/api/v1/threads/{id}", handler: s.handleThreadUpdate},
		{method: "GET", pattern: "/api/v1/threads/{id}/participants", handler: s.handleParticipantList},
		{method: "POST", pattern: "/api/v1/threads/{id}/participants", handler: s.handleParticipantAdd},
		{method: "DELETE", pattern: "/api/v1/threads/{id}/participants/me", handler: s.handleThreadLeave},
		{method: "DELETE", pattern: "/api/v1/threads/{id}/participants/{user_id}", handler: s.handleParticipantRemove},
		{method: "GET", pattern: "/api/v1/threads/{id}/read", handler: s.handleReadMarkers},
		{method: "POST", pattern: "/api/v1/threads/{id}/read", handler: s.handleThreadRead},
		{method: "POST", pattern: "/api/v1/threads/{id}/typing", handler: s.handleThreadTyping},
		{method: "GET", pattern: "/api/v1/threads/{id}/apps", handler: s.handleThreadApps},
		{method: "PUT", pattern: "/api/v1/threads/{id}/app-access", handler: s.handleThreadAppAccess},

		{method: "POST", pattern: "/api/v1/threads/{id}/messages", handler: s.handleMessageCreate},
		{method: "GET", pattern: "/api/v1/threads/{id}/messages", handler: s.handleMessageList},
		{method: "GET", pattern: "/api/v1/threads/{id}/changes", handler: s.handleChangeList},
		{method: "PATCH", pattern: "/api/v1/messages/{id}", handler: s.handleMessageEdit},
		{method: "DELETE", pattern: "/api/v1/messages/{id}", handler: s.handleMessageDelete},
		{method: "PUT", pattern: "/api/v1/messages/{id}/reaction", handler: s.handleReactionPut},
		{method: "DELETE", pattern: "/api/v1/messages/{id}/reaction", handler: s.handleReactionDelete},
		{method: "PUT", pattern: "/api/v1/messages/{id}/flag", handler: s.handleFlagPut},
		{method: "GET", pattern: "/api/v1/messages/{id}/flag", handler: s.handleFlagGet},
		{method: "GET", pattern: "/api/v1/search/messages", handler: s.handleSearchMessages},

		{method: "POST", pattern: "/api/v1/shares", handler: s.handleShareCreate},

		{method: "POST", pattern: "/api/v1/events/tickets", handler: s.handleEventTicketCreate},
		{method: "GET", pattern: eventsPath, handler: s.handleEvents, websocket: true},

		{method: "POST", pattern: "/api/v1/apps", handler: s.handleAppCreate},
		{method: "GET", pattern: "/api/v1/apps", handler: s.handleAppList},
		{method: "DELETE", pattern: "/api/v1/apps/{client_id}", handler: s.handleAppDelete},
		{method: "GET", pattern: "/api/v1/apps/{client_id}/reports/shares", handler: s.handleShareReport, reports: true},
		{method: "POST", pattern: "/api/v1/apps/{client_id}/webhooks", handler: s.handleWebhookCreate},
		{method: "GET", pattern: "/api/v1/apps/{client_id}/webhooks", handler: s.handleWebhookList},
		{method: "GET", pattern: "/api/v1/apps/{client_id}/webhooks/{id}", handler: s.handleWebhookGet},
		{method: "DELETE", pattern: "/api/v1/apps/{client_id}/webhooks/{id}", handler: s.handleWebhookDelete},
		{method: "POST", pattern: "/api/v1/apps/{client_id}/webhooks/{id}/rotate-secret", handler: s.handleWebhookRotate},
		{method: "GET", pattern: "/api/v1/apps/{client_id}/webhooks/{id}/deliveries", handler: s.handleWebhookDeliveries},
		{method: "POST", pattern: "/api/v1/apps/{client_id}/webhooks/{id}/deliveries/{delivery_id}/redeliver", handler: s.handleWebhookRedeliver},
	}
}
