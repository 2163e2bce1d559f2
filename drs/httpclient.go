package drs

import (
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// bodyReadClient sends requests whose body offers Read and Close only.
//
// The SDK wraps request bodies in a reader that also offers WriteTo and
// answers io.EOF once closed. net/http closes the request body as soon as
// the response arrives, which a fast endpoint (drs-sim on the same machine)
// can send before the transport's last read of the body; that read then fails
// with io.EOF, the transport drops the connection and the response body can
// no longer be read ("use of closed network connection", as in
// aws/aws-sdk-go-v2#1825). The request was served, so a retry would repeat a
// StartRecovery. Through Read, a closed body is a plain end of data.
type bodyReadClient struct{ c aws.HTTPClient }

// Do sends the request through the wrapped client.
func (h bodyReadClient) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = readCloser{r.Body}
	}
	return h.c.Do(r)
}

// readCloser hides every method of a body but Read and Close.
type readCloser struct{ io.ReadCloser }

// withBodyReadClient wraps the config's HTTP client (the SDK's default when none).
func withBodyReadClient(c aws.HTTPClient) aws.HTTPClient {
	if c == nil {
		c = awshttp.NewBuildableClient()
	}
	if _, ok := c.(bodyReadClient); ok {
		return c
	}
	return bodyReadClient{c}
}
