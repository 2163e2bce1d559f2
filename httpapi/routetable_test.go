package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/drsorch/drsorch/httpapi"
)

// TestRoutesListsWhatIsServed checks httpapi.Routes against the handler and
// against the hand-written list of routes the other tests call: the
// deployment stack is checked against Routes, so it must be exactly what New serves.
func TestRoutesListsWhatIsServed(t *testing.T) {
	h := httpapi.New(nil, httpapi.Options{}) // no authenticator: authenticated routes answer 401
	mux := http.NewServeMux()
	seen := map[string]bool{}
	for _, rt := range httpapi.Routes() {
		pattern := rt.Method + " " + rt.Path
		if seen[pattern] {
			t.Errorf("%s is listed twice", pattern)
		}
		seen[pattern] = true
		mux.HandleFunc(pattern, func(http.ResponseWriter, *http.Request) {})
		if rt.Public {
			continue // served without a caller; TestPublicRoutes calls them
		}
		t.Run(pattern, func(t *testing.T) {
			r := httptest.NewRequest(rt.Method, strings.ReplaceAll(rt.Path, "{id}", "x"), nil)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusUnauthorized {
				t.Fatalf("without a caller: %d %s, want 401 (a route that needs one)", w.Code, w.Body)
			}
		})
	}
	for _, want := range []string{"GET /health", "GET /execution-callback"} {
		if !seen[want] {
			t.Errorf("Routes lacks %s", want)
		}
	}
	public := 0
	for _, rt := range httpapi.Routes() {
		if rt.Public {
			public++
		}
	}
	if n := len(httpapi.Routes()) - public; n != len(routes) {
		t.Errorf("Routes has %d authenticated routes, the tests call %d", n, len(routes))
	}
	for _, rt := range routes {
		r := httptest.NewRequest(rt.method, rt.path, nil)
		if _, pattern := mux.Handler(r); pattern == "" {
			t.Errorf("%s %s is served but not in Routes", rt.method, rt.path)
		}
	}
}
