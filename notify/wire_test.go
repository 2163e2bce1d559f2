package notify_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/drsorchtest"
	"github.com/drsorch/drsorch/notify"
)

// TestSNSWireFormat pins the Publish request the SDK sends (SNS's query protocol).
func TestSNSWireFormat(t *testing.T) {
	var form url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		form, _ = url.ParseQuery(string(b))
		w.Header().Set("Content-Type", "text/xml")
		io.WriteString(w, `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-1</MessageId></PublishResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>`)
	}))
	defer srv.Close()
	client := sns.New(sns.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Retryer: aws.NopRetryer{},
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
	})
	n := notification(drsorch.NotifyPaused)
	if err := notify.NewSNS(client, topic).WithClock(drsorchtest.NewClock(drsorchtest.Epoch)).Notify(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"Action": "Publish", "Version": "2010-03-31", "TopicArn": topic,
		"Subject": "[DRS] Recovery Plan: Payments - pause", "MessageStructure": "json",
	}
	for k, v := range want {
		if got := form.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	attrs := map[string]string{}
	for i := 1; form.Get(entry(i, "Name")) != ""; i++ {
		if dt := form.Get(entry(i, "Value.DataType")); dt != "String" {
			t.Errorf("attribute %s of type %q", form.Get(entry(i, "Name")), dt)
		}
		attrs[form.Get(entry(i, "Name"))] = form.Get(entry(i, "Value.StringValue"))
	}
	if attrs["eventType"] != "pause" || attrs["recoveryPlanId"] != "plan-1" || attrs["executionId"] != n.ExecutionID || len(attrs) != 3 {
		t.Errorf("message attributes %v", attrs)
	}
	var msg map[string]string
	if err := json.Unmarshal([]byte(form.Get("Message")), &msg); err != nil {
		t.Fatalf("Message is not JSON: %v", err)
	}
	if !strings.Contains(msg["email"], resumeURL) || !strings.Contains(msg["email"], cancelURL) {
		t.Errorf("the paused message lacks its links:\n%s", msg["email"])
	}
}

func entry(i int, field string) string {
	return "MessageAttributes.entry." + strconv.Itoa(i) + "." + field
}
