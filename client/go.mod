module github.com/parleyhq/parley/client

go 1.26.8

require (
	github.com/coder/websocket v1.8.15
	golang.org/x/oauth2 v0.37.0
)
