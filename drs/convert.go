package drs

import (
	"maps"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/drs/types"

	"github.com/drsorch/drsorch"
)

// DRS writes times as ISO 8601 strings ("2026-01-01T00:00:00.123Z"); the
// layouts below also read the offsets and fractions other writers use.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
}

// parseTime reads a DRS time; nil or unreadable is the zero time.
func parseTime(s *string) time.Time {
	if s == nil || *s == "" {
		return time.Time{}
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, *s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// formatTime writes a time as DRS's ISO8601DatetimeString; the zero time is nil.
func formatTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	return aws.String(t.UTC().Format(time.RFC3339Nano))
}

func cloneTags(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}

// primaryIP returns the first address of the primary network interface, else of the first one.
func primaryIP(nics []types.NetworkInterface) string {
	ip := ""
	for _, n := range nics {
		if len(n.Ips) == 0 {
			continue
		}
		if aws.ToBool(n.IsPrimary) {
			return n.Ips[0]
		}
		if ip == "" {
			ip = n.Ips[0]
		}
	}
	return ip
}

func (c *clientSet) job(j types.Job) drsorch.Job {
	out := drsorch.Job{
		JobID:                aws.ToString(j.JobID),
		Type:                 drsorch.JobType(j.Type),
		Status:               drsorch.JobStatus(j.Status),
		InitiatedBy:          string(j.InitiatedBy),
		CreationDateTime:     parseTime(j.CreationDateTime),
		EndDateTime:          parseTime(j.EndDateTime),
		ParticipatingServers: make([]drsorch.ParticipatingServer, len(j.ParticipatingServers)),
		Tags:                 cloneTags(j.Tags),
		Region:               c.region,
		AccountID:            c.accountOf(j.Arn),
	}
	for i, ps := range j.ParticipatingServers {
		out.ParticipatingServers[i] = drsorch.ParticipatingServer{
			SourceServerID:     aws.ToString(ps.SourceServerID),
			LaunchStatus:       drsorch.LaunchStatus(ps.LaunchStatus),
			RecoveryInstanceID: aws.ToString(ps.RecoveryInstanceID),
		}
	}
	return out
}

func logItem(l types.JobLog) drsorch.JobLogItem {
	out := drsorch.JobLogItem{Event: string(l.Event), LogDateTime: parseTime(l.LogDateTime)}
	if d := l.EventData; d != nil {
		out.EventData = drsorch.JobEventData{
			SourceServerID:     aws.ToString(d.SourceServerID),
			ConversionServerID: aws.ToString(d.ConversionServerID),
			TargetInstanceID:   aws.ToString(d.TargetInstanceID),
			RawError:           aws.ToString(d.RawError),
		}
	}
	return out
}

func (c *clientSet) recoveryInstance(r types.RecoveryInstance) drsorch.RecoveryInstance {
	out := drsorch.RecoveryInstance{
		RecoveryInstanceID: aws.ToString(r.RecoveryInstanceID),
		EC2InstanceID:      aws.ToString(r.Ec2InstanceID),
		EC2InstanceState:   string(r.Ec2InstanceState),
		SourceServerID:     aws.ToString(r.SourceServerID),
		JobID:              aws.ToString(r.JobID),
		IsDrill:            aws.ToBool(r.IsDrill),
		Region:             c.region,
		AccountID:          c.accountOf(r.Arn),
	}
	if p := r.RecoveryInstanceProperties; p != nil {
		out.PrivateIP = primaryIP(p.NetworkInterfaces)
	}
	return out
}

func (c *clientSet) sourceServer(s types.SourceServer) drsorch.SourceServer {
	out := drsorch.SourceServer{
		SourceServerID: aws.ToString(s.SourceServerID),
		Tags:           cloneTags(s.Tags),
		Region:         c.region,
		AccountID:      c.accountOf(s.Arn),
	}
	if d := s.DataReplicationInfo; d != nil {
		out.ReplicationState = string(d.DataReplicationState)
	}
	if p := s.SourceProperties; p != nil {
		if h := p.IdentificationHints; h != nil {
			out.Hostname = aws.ToString(h.Hostname)
			if out.Hostname == "" {
				out.Hostname = aws.ToString(h.Fqdn)
			}
			out.SourceInstanceID = aws.ToString(h.AwsInstanceID)
		}
		out.IPAddress = primaryIP(p.NetworkInterfaces)
	}
	return out
}

func snapshot(s types.RecoverySnapshot) drsorch.RecoverySnapshot {
	return drsorch.RecoverySnapshot{
		SnapshotID:        aws.ToString(s.SnapshotID),
		SourceServerID:    aws.ToString(s.SourceServerID),
		Timestamp:         parseTime(s.Timestamp),
		ExpectedTimestamp: parseTime(s.ExpectedTimestamp),
	}
}
