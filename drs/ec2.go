package drs

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/drsorch/drsorch"
)

// enrich fills the recovery instances' type, private IP, state and launch
// time from EC2 DescribeInstances in the same account context, in batches.
// Instances DRS reports as gone are not asked for, since one unknown id fails
// a whole DescribeInstances call. A failed batch is logged and its instances
// keep the DRS data.
func (a *Adapter) enrich(ctx context.Context, c *clientSet, list []drsorch.RecoveryInstance) {
	if c.ec2 == nil || len(list) == 0 {
		return
	}
	var ids []string
	seen := map[string]bool{}
	for _, in := range list {
		id := in.EC2InstanceID
		if id == "" || seen[id] || in.EC2InstanceState == drsorch.EC2NotFound || in.EC2InstanceState == drsorch.EC2Terminated {
			continue
		}
		seen[id] = true
		ids = append(ids, id)
	}
	found := make(map[string]ec2types.Instance, len(ids))
	for start := 0; start < len(ids); start += ec2BatchSize {
		batch := ids[start:min(start+ec2BatchSize, len(ids))]
		p := ec2.NewDescribeInstancesPaginator(c.ec2, &ec2.DescribeInstancesInput{InstanceIds: batch})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				a.log.Warn("EC2 DescribeInstances failed; recovery instances keep the DRS data only",
					"account", accountName(c.account), "region", c.region, "instances", len(batch), "awsError", apiCode(err), "error", err)
				break
			}
			for _, r := range page.Reservations {
				for _, inst := range r.Instances {
					if inst.InstanceId != nil {
						found[*inst.InstanceId] = inst
					}
				}
			}
		}
	}
	for i := range list {
		inst, ok := found[list[i].EC2InstanceID]
		if !ok {
			continue
		}
		ri := &list[i]
		if inst.InstanceType != "" {
			ri.InstanceType = string(inst.InstanceType)
		}
		if ip := aws.ToString(inst.PrivateIpAddress); ip != "" {
			ri.PrivateIP = ip
		}
		if inst.State != nil && inst.State.Name != "" {
			ri.EC2InstanceState = strings.ToUpper(string(inst.State.Name))
		}
		if inst.LaunchTime != nil {
			ri.LaunchTime = inst.LaunchTime.UTC()
		}
	}
}
