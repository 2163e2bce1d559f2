package httpapi

import (
	"math"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/drsorch/drsorch"
)

// RateLimit is a token bucket per client: Burst requests at once, then one
// every Every.
type RateLimit struct {
	Burst int
	Every time.Duration
}

// DefaultCallbackLimit limits GET /execution-callback per client IP: 10 at
// once, then one every 6 seconds (10 a minute).
var DefaultCallbackLimit = RateLimit{Burst: 10, Every: 6 * time.Second}

// maxClients bounds the buckets kept; when it is reached, idle (full) buckets
// are dropped, and if none is idle, all are.
const maxClients = 10000

// limiter holds one token bucket per client.
type limiter struct {
	mu      sync.Mutex
	limit   RateLimit
	clock   drsorch.Clock
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(l RateLimit, clock drsorch.Clock) *limiter {
	if l.Burst <= 0 {
		l.Burst = DefaultCallbackLimit.Burst
	}
	if l.Every <= 0 {
		l.Every = DefaultCallbackLimit.Every
	}
	return &limiter{limit: l, clock: clock, buckets: map[string]*bucket{}}
}

// allow takes a token from the client's bucket; when there is none it says
// how long until there is.
func (l *limiter) allow(client string) (bool, time.Duration) {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[client]
	if !ok {
		if len(l.buckets) >= maxClients {
			l.prune(now)
		}
		b = &bucket{tokens: float64(l.limit.Burst), last: now}
		l.buckets[client] = b
	}
	b.refill(now, l.limit)
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) * float64(l.limit.Every))
	return false, wait
}

func (b *bucket) refill(now time.Time, l RateLimit) {
	if el := now.Sub(b.last); el > 0 {
		b.tokens = math.Min(float64(l.Burst), b.tokens+float64(el)/float64(l.Every))
		b.last = now
	}
}

func (l *limiter) prune(now time.Time) {
	for k, b := range l.buckets {
		b.refill(now, l.limit)
		if b.tokens >= float64(l.limit.Burst) {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= maxClients {
		clear(l.buckets)
	}
}

// clientKey is the client a request is counted for: its IP address (an IPv6
// address by its /64, which one client usually holds whole). Behind API
// Gateway the Lambda router puts the request context's source IP there; a
// forwarded-for header is not trusted.
func clientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return host
	}
	if ip4 := ip.To4(); ip4 != nil {
		return ip4.String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}
