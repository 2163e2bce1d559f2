package drssim

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"time"
)

const hexChars = "0123456789abcdef"

// randHex returns n lower-case hex digits from the id generator.
func (s *Sim) randHex(n int) string {
	b := make([]byte, n)
	var v uint64
	for i := range b {
		if i%16 == 0 {
			v = s.idRNG.Uint64()
		}
		b[i] = hexChars[v&0xf]
		v >>= 4
	}
	return string(b)
}

// newJobID returns a job id unused in the region: drsjob- and 17 hex digits.
func (s *Sim) newJobID(r *region) string {
	for {
		id := "drsjob-" + s.randHex(17)
		if r.jobs[id] == nil {
			return id
		}
	}
}

// newInstanceID returns an EC2 instance id: i- and 17 hex digits.
func (s *Sim) newInstanceID(r *region) string {
	for {
		id := "i-" + s.randHex(17)
		if r.instances[id] == nil {
			return id
		}
	}
}

// newPrivateIP returns an address in 10.0.0.0/8.
func (s *Sim) newPrivateIP() string {
	v := s.idRNG.Uint64()
	return fmt.Sprintf("10.%d.%d.%d", v&0xff, (v>>8)&0xff, 1+(v>>16)%254)
}

// hash64 is a stable hash of the seed and some strings.
func (s *Sim) hash64(parts ...string) uint64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(s.seed))
	h.Write(b[:])
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// unit returns a stable number in [0, 1) for the seed and some strings.
func (s *Sim) unit(parts ...string) float64 {
	return float64(s.hash64(parts...)>>11) / (1 << 53)
}

// jittered spreads d by up to ±spread, stably for the given key.
func (s *Sim) jittered(d time.Duration, spread float64, parts ...string) time.Duration {
	if spread <= 0 {
		return d
	}
	f := 1 + spread*(2*s.unit(parts...)-1)
	return time.Duration(float64(d) * f)
}

// snapshotID is the stable id of a server's snapshot at a time: pit- and 17 hex digits.
func (s *Sim) snapshotID(account, region, server string, at time.Time) string {
	a := s.hash64("pit", account, region, server, at.UTC().Format(time.RFC3339))
	b := s.hash64("pit2", account, region, server, at.UTC().Format(time.RFC3339))
	return "pit-" + fmt.Sprintf("%016x", a) + string(hexChars[b&0xf])
}

// instanceTypes are the types recovery instances get, picked by source server.
var instanceTypes = []string{"t3.medium", "t3.large", "m5.large", "m5.xlarge", "c5.large", "r5.large"}

func instanceTypeFor(sourceServerID string) string {
	h := fnv.New32a()
	h.Write([]byte(sourceServerID))
	return instanceTypes[h.Sum32()%uint32(len(instanceTypes))]
}
